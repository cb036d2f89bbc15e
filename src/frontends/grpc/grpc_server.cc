#include "frontends/grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status_mapping.h"
#include "core/model_repository.h"
#include "frontends/grpc/grpc_codec.h"
#include "grpc_service.grpc.pb.h"

namespace tide::grpcfe {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(common::GrpcCodeFor(s)),
                      std::string(s.message()));
}

class Service final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit Service(const GrpcServer::Options& o) : o_(o) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx,
                                       const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* resp) override {
    resp->set_live(o_.service->IsLive());
    return Done(ctx, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx,
                                        const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* resp) override {
    resp->set_ready(o_.service->IsReady());
    return Done(ctx, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx,
                                       const inference::ModelReadyRequest* req,
                                       inference::ModelReadyResponse* resp) override {
    if (absl::Status s = core::ValidateModelName(req->name()); !s.ok()) return Done(ctx, s);
    auto ready = o_.service->ModelReady(req->name(), req->version());
    if (!ready.ok()) return Done(ctx, ready.status());
    resp->set_ready(*ready);
    return Done(ctx, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx,
                                           const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* resp) override {
    resp->set_name(o_.server_name);
    resp->set_version(o_.server_version);
    for (const std::string& e : o_.extensions) resp->add_extensions(e);
    return Done(ctx, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx,
                                          const inference::ModelMetadataRequest* req,
                                          inference::ModelMetadataResponse* resp) override {
    if (absl::Status s = core::ValidateModelName(req->name()); !s.ok()) return Done(ctx, s);
    auto md = o_.service->Metadata(req->name(), req->version());
    if (!md.ok()) return Done(ctx, md.status());
    resp->set_name(md->name);
    for (const std::string& v : md->versions) resp->add_versions(v);
    resp->set_platform(md->platform);
    auto fill = [](const std::vector<core::TensorMetadata>& ts, auto add) {
      for (const core::TensorMetadata& t : ts) {
        auto* out = add();
        out->set_name(t.name);
        out->set_datatype(core::V2Name(t.datatype));
        for (int64_t d : t.shape) out->add_shape(d);
      }
    };
    fill(md->inputs, [&] { return resp->add_inputs(); });
    fill(md->outputs, [&] { return resp->add_outputs(); });
    return Done(ctx, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx,
                                       const inference::ModelInferRequest* req,
                                       inference::ModelInferResponse* resp) override {
    if (absl::Status s = core::ValidateModelName(req->model_name()); !s.ok()) return Done(ctx, s);
    auto decoded = FromProto(*req);
    if (!decoded.ok()) {
      o_.service->CountRejected(req->model_name(), req->model_version(), decoded.status());
      return Done(ctx, decoded.status());
    }
    core::InferRequest request = *std::move(decoded);
    // The client's deadline bounds the request's timeout (as the V2
    // `timeout` parameter does): a request still queued at its deadline is
    // answered DEADLINE_EXCEEDED without running. One whose client cancels
    // is dropped from the queue before it runs (`ctx` lives until Finish).
    if (auto deadline = ctx->deadline(); deadline != std::chrono::system_clock::time_point::max()) {
      absl::Duration left = std::max(absl::FromChrono(deadline - std::chrono::system_clock::now()),
                                     absl::Nanoseconds(1));
      if (request.timeout == absl::ZeroDuration() || left < request.timeout) request.timeout = left;
    }
    request.cancelled = [ctx] { return ctx->IsCancelled(); };
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    o_.service->Infer(std::move(request), [reactor, resp](absl::StatusOr<core::InferResponse> r) {
      if (r.ok()) ToProto(*r, resp);
      reactor->Finish(ToGrpc(r.status()));
    });
    return reactor;
  }

 private:
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& s) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpc(s));
    return reactor;
  }

  const GrpcServer::Options& o_;
};

}  // namespace

struct GrpcServer::Impl {
  Options options;
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Create(Options options) {
  if (!options.service) return absl::InvalidArgumentError("GrpcServer needs an InferenceService");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->service = std::make_unique<Service>(impl->options);
  grpc::ServerBuilder builder;
  std::string host = impl->options.host.find(':') != std::string::npos
                         ? absl::StrCat("[", impl->options.host, "]")
                         : impl->options.host;
  builder.AddListeningPort(absl::StrCat(host, ":", impl->options.port),
                           grpc::InsecureServerCredentials(), &impl->port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(impl->options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(impl->options.max_message_bytes));
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", impl->options.host, ":", impl->options.port, " (grpc)"));
  }
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

int GrpcServer::port() const { return impl_->port; }

void GrpcServer::Shutdown(absl::Duration deadline) {
  if (!impl_->server) return;
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace tide::grpcfe
