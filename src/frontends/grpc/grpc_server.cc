#include "frontends/grpc/grpc_server.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/stubs/logging.h>
#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>

#include <pthread.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/status_macros.h"
#include "common/status_mapping.h"
#include "core/model_repository.h"
#include "frontends/grpc/grpc_codec.h"
#include "grpc_service.grpc.pb.h"
#include "health.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace tide::grpcfe {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(common::GrpcCodeFor(s)),
                      std::string(s.message()));
}

// ModelInfer's request and response live on one protobuf arena per call:
// the request is parsed into it (raw_input_contents included) and the response
// built in it, and all of it is freed at once when the call ends, instead of a
// malloc and free per string and repeated field. The arena's first block is
// part of the call, so a small call allocates once.
class InferArena {
 public:
  InferArena() : arena_(Options()) {
    request_ = google::protobuf::Arena::CreateMessage<inference::ModelInferRequest>(&arena_);
    response_ = google::protobuf::Arena::CreateMessage<inference::ModelInferResponse>(&arena_);
  }
  inference::ModelInferRequest* request() { return request_; }
  inference::ModelInferResponse* response() { return response_; }

 private:
  google::protobuf::ArenaOptions Options() {
    google::protobuf::ArenaOptions o;
    o.initial_block = first_block_;
    o.initial_block_size = sizeof(first_block_);
    return o;
  }
  alignas(8) char first_block_[4096];
  google::protobuf::Arena arena_;  // after first_block_: built from it, destroyed before it
  inference::ModelInferRequest* request_;
  inference::ModelInferResponse* response_;
};

// The request as the InferenceService takes it, or the status to answer
// without running it: name checked, tensors decoded, the client's deadline
// and cancellation attached.
absl::StatusOr<core::InferRequest> ToInferRequest(const GrpcServer::Options& o,
                                                  const inference::ModelInferRequest& req,
                                                  std::chrono::system_clock::time_point deadline,
                                                  std::function<bool()> cancelled) {
  RETURN_IF_ERROR(core::ValidateModelName(req.model_name()));
  auto decoded = FromProto(req);
  if (!decoded.ok()) {
    o.service->CountRejected(req.model_name(), req.model_version(), decoded.status());
    return decoded.status();
  }
  core::InferRequest request = *std::move(decoded);
  // The client's deadline bounds the request's timeout (as the V2 `timeout`
  // parameter does): a request still queued at its deadline is answered
  // DEADLINE_EXCEEDED without running. One whose client cancels is dropped
  // from the queue before it runs.
  if (deadline != std::chrono::system_clock::time_point::max()) {
    absl::Duration left = std::max(absl::FromChrono(deadline - std::chrono::system_clock::now()),
                                   absl::Nanoseconds(1));
    if (request.timeout == absl::ZeroDuration() || left < request.timeout) request.timeout = left;
  }
  request.cancelled = std::move(cancelled);
  return request;
}

// The service: every RPC on gRPC's callback API except ModelInfer, which is
// served from a completion queue that tide's own thread polls (AsyncInfer).
// Composed by hand from the generated mixins: a method is made async only
// while it still has its synchronous handler (the mixin nearest `Service`);
// made async after a callback mixin it would stay a callback method.
using GS = inference::GRPCInferenceService;
using ServiceBase = GS::WithCallbackMethod_ServerLive<
    GS::WithCallbackMethod_ServerReady<GS::WithCallbackMethod_ModelReady<
        GS::WithCallbackMethod_ServerMetadata<GS::WithCallbackMethod_ModelMetadata<
            GS::WithCallbackMethod_ModelStatistics<GS::WithCallbackMethod_RepositoryIndex<
                GS::WithCallbackMethod_ModelConfig<GS::WithCallbackMethod_RepositoryModelLoad<
                    GS::WithCallbackMethod_RepositoryModelUnload<
                        GS::WithAsyncMethod_ModelInfer<GS::Service>>>>>>>>>>>;

class Service final : public ServiceBase {
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

  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* ctx,
                                        const inference::ModelConfigRequest* req,
                                        inference::ModelConfigResponse* resp) override {
    if (absl::Status s = core::ValidateModelName(req->name()); !s.ok()) return Done(ctx, s);
    auto m = o_.service->FindModel(req->name(), req->version());
    if (!m.ok()) return Done(ctx, m.status());
    // As HTTP's /config renders it: name and backend as tide resolved them.
    *resp->mutable_config() = (*m)->spec.proto;
    resp->mutable_config()->set_name((*m)->spec.name);
    if (resp->config().backend().empty()) resp->mutable_config()->set_backend((*m)->spec.backend);
    return Done(ctx, absl::OkStatus());
  }

  // Which models GET /v2/models[/{m}[/versions/{v}]]/stats reports.
  grpc::ServerUnaryReactor* ModelStatistics(grpc::CallbackServerContext* ctx,
                                            const inference::ModelStatisticsRequest* req,
                                            inference::ModelStatisticsResponse* resp) override {
    std::vector<std::shared_ptr<core::LoadedModel>> models;
    if (req->name().empty()) {
      if (!req->version().empty()) {
        return Done(ctx, absl::InvalidArgumentError("a version needs a model name"));
      }
      models = o_.service->Models();
    } else {
      if (absl::Status s = core::ValidateModelName(req->name()); !s.ok()) return Done(ctx, s);
      if (req->version().empty()) {
        for (auto& m : o_.service->Models()) {
          if (m->spec.name == req->name()) models.push_back(m);
        }
      }
      if (models.empty()) {
        auto m = o_.service->FindModel(req->name(), req->version());
        if (!m.ok()) return Done(ctx, m.status());
        models.push_back(*m);
      }
    }
    auto duration = [](inference::StatisticDuration* d, uint64_t count, uint64_t ns) {
      d->set_count(count);
      d->set_ns(ns);
    };
    for (const auto& m : models) {
      core::ModelStatistics s = m->observer ? m->observer->Snapshot() : core::ModelStatistics{};
      inference::ModelStatistics* out = resp->add_model_stats();
      out->set_name(m->spec.name);
      out->set_version(absl::StrCat(m->version));
      out->set_last_inference(s.last_inference_ms);
      out->set_inference_count(s.inference_count);
      out->set_execution_count(s.execution_count);
      inference::InferStatistics* is = out->mutable_inference_stats();
      duration(is->mutable_success(), s.success_count, s.success_ns);
      duration(is->mutable_fail(), s.fail_count, s.fail_ns);
      duration(is->mutable_queue(), s.queue_count, s.queue_ns);
      duration(is->mutable_compute_input(), s.compute_input_count, s.compute_input_ns);
      duration(is->mutable_compute_infer(), s.compute_infer_count, s.compute_infer_ns);
      duration(is->mutable_compute_output(), s.compute_output_count, s.compute_output_ns);
      duration(is->mutable_cache_hit(), 0, 0);
      duration(is->mutable_cache_miss(), 0, 0);
      for (const core::BatchStatistics& b : s.batch_stats) {
        inference::InferBatchStatistics* bs = out->add_batch_stats();
        bs->set_batch_size(b.batch_size);
        duration(bs->mutable_compute_input(), b.compute_input_count, b.compute_input_ns);
        duration(bs->mutable_compute_infer(), b.compute_infer_count, b.compute_infer_ns);
        duration(bs->mutable_compute_output(), b.compute_output_count, b.compute_output_ns);
      }
      if (m->memory_bytes > 0) {
        inference::MemoryUsage* mu = out->add_memory_usage();
        mu->set_type("CPU");
        mu->set_id(0);
        mu->set_byte_size(m->memory_bytes);
      }
    }
    return Done(ctx, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* ctx,
                                            const inference::RepositoryIndexRequest* req,
                                            inference::RepositoryIndexResponse* resp) override {
    if (!req->repository_name().empty()) {
      return Done(ctx,
                  absl::NotFoundError(absl::StrCat("unknown repository '", req->repository_name(),
                                                   "' (tide serves one repository)")));
    }
    std::vector<core::ModelState> index;
    if (o_.control != nullptr) {
      const std::string auth = Authorization(ctx), peer = ctx->peer();
      auto i = o_.control->Index(core::ControlCaller{auth, peer});
      if (!i.ok()) return Done(ctx, i.status());
      index = *std::move(i);
    } else {
      index = o_.service->Index();
    }
    for (const core::ModelState& s : index) {
      if (req->ready() && s.state != "READY") continue;
      auto* m = resp->add_models();
      m->set_name(s.name);
      m->set_version(s.version);
      m->set_state(s.state);
      m->set_reason(s.reason);
    }
    return Done(ctx, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* RepositoryModelLoad(grpc::CallbackServerContext* ctx,
                                                const inference::RepositoryModelLoadRequest* req,
                                                inference::RepositoryModelLoadResponse*) override {
    return Control(ctx, true, req->repository_name(), req->model_name(),
                   req->parameters_size() > 0);
  }

  grpc::ServerUnaryReactor* RepositoryModelUnload(
      grpc::CallbackServerContext* ctx, const inference::RepositoryModelUnloadRequest* req,
      inference::RepositoryModelUnloadResponse*) override {
    return Control(ctx, false, req->repository_name(), req->model_name(), false);
  }

 private:
  static std::string Authorization(grpc::CallbackServerContext* ctx) {
    auto it = ctx->client_metadata().find("authorization");
    if (it == ctx->client_metadata().end()) return "";
    return std::string(it->second.data(), it->second.size());
  }

  // ModelControl checks the token before the name, and counts refusals.
  grpc::ServerUnaryReactor* Control(grpc::CallbackServerContext* ctx, bool load,
                                    const std::string& repository, const std::string& name,
                                    bool with_parameters) {
    if (o_.control == nullptr) {
      return Done(ctx, absl::FailedPreconditionError(
                           "explicit model load / unload is not allowed: model control is off"));
    }
    if (!repository.empty()) {
      return Done(ctx, absl::NotFoundError(absl::StrCat("unknown repository '", repository,
                                                        "' (tide serves one repository)")));
    }
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    auto done = [reactor](absl::Status s) { reactor->Finish(ToGrpc(s)); };
    const std::string auth = Authorization(ctx), peer = ctx->peer();
    const core::ControlCaller caller{auth, peer};  // the peer: --model-control-trust-loopback
    if (load) {
      o_.control->Load(name, caller, with_parameters, done);
    } else {
      o_.control->Unload(name, caller, done);
    }
    return reactor;
  }

  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const absl::Status& s) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpc(s));
    return reactor;
  }

  const GrpcServer::Options& o_;
};

// grpc.health.v1.Health: SERVING while the server is ready (the same answer
// as ServerReady and /v2/health/ready), for "" and the inference service.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  explicit HealthService(const GrpcServer::Options& o) : o_(o) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx,
                                  const grpc::health::v1::HealthCheckRequest* req,
                                  grpc::health::v1::HealthCheckResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (!req->service().empty() && req->service() != "inference.GRPCInferenceService") {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                   absl::StrCat("unknown service '", req->service(), "'")));
      return reactor;
    }
    resp->set_status(o_.service->IsReady() ? grpc::health::v1::HealthCheckResponse::SERVING
                                           : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  // Not served: said so, where gRPC's default answers UNIMPLEMENTED with no
  // message at all.
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext*, const grpc::health::v1::HealthCheckRequest*) override {
    class Refused final : public grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse> {
     public:
      Refused() {
        Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "grpc.health.v1.Health/Watch is not served by tide: call Check (as "
                            "Kubernetes' gRPC probes do)"));
      }
      void OnDone() override { delete this; }
    };
    return new Refused;
  }

 private:
  const GrpcServer::Options& o_;
};

// ModelInfer on a completion queue polled by one thread of tide's own: the
// call is read, decoded and handed to the InferenceService on that thread,
// and the worker that answers it sends the answer (Finish) itself. On the
// callback API each call passed between gRPC's own threads (the callback
// queue's pollers and its executor) as well, a wake-up each time.
class InferQueue;

// One ModelInfer call. Three events reach the poller for it: the call
// arrived (or, with ok=false, the server shut down before one came), the
// call ended (answered or cancelled: AsyncNotifyWhenDone), and its answer
// left (Finish). It is deleted once both of the last two came.
class AsyncInfer {
 public:
  enum class Event { kArrived, kDone, kFinished };
  struct Tag {
    AsyncInfer* call;
    Event event;
  };

  AsyncInfer(InferQueue* queue, Service* service, grpc::ServerCompletionQueue* cq)
      : queue_(queue), responder_(&ctx_) {
    ctx_.AsyncNotifyWhenDone(&done_);
    service->RequestModelInfer(&ctx_, arena_.request(), &responder_, cq, cq, &arrived_);
  }

  void On(Event event, bool ok);

 private:
  void OnArrived();
  void Answer(const absl::Status& s) {
    if (s.ok()) {
      responder_.Finish(*arena_.response(), grpc::Status::OK, &finished_);
    } else {
      responder_.FinishWithError(ToGrpc(s), &finished_);
    }
  }
  void Release() {
    if (--pending_ == 0) delete this;
  }

  InferQueue* const queue_;
  grpc::ServerContext ctx_;
  InferArena arena_;
  grpc::ServerAsyncResponseWriter<inference::ModelInferResponse> responder_;
  std::atomic<bool> cancelled_{false};
  int pending_ = 2;  // kDone and kFinished; only the poller touches it
  Tag arrived_{this, Event::kArrived};
  Tag done_{this, Event::kDone};
  Tag finished_{this, Event::kFinished};
};

class InferQueue {
 public:
  InferQueue(const GrpcServer::Options& o, Service* service,
             std::unique_ptr<grpc::ServerCompletionQueue> cq)
      : o_(o), service_(service), cq_(std::move(cq)) {}

  const GrpcServer::Options& options() const { return o_; }

  void Start() {
    {
      absl::MutexLock lock(&mu_);
      RequestLocked();
    }
    thread_ = std::thread([this] { Poll(); });
  }

  // The outstanding request came back: with a call (`ok`), or failed because
  // the server shut down. With a call, the next request is made and the call
  // counted until Answered() and Sent(); false when there is no call.
  bool Matched(bool ok) {
    absl::MutexLock lock(&mu_);
    requested_ = false;
    if (!ok) return false;
    RequestLocked();  // on a server shut down, it fails at once (ok=false)
    ++unanswered_;
    ++unsent_;
    return true;
  }
  // After the call's Finish: from here the queue may be shut down.
  void Answered() {
    absl::MutexLock lock(&mu_);
    --unanswered_;
  }
  // The call's answer has left (or the call was cancelled).
  void Sent() {
    absl::MutexLock lock(&mu_);
    --unsent_;
  }
  // After grpc::Server::Shutdown was called (on another thread): waits until
  // the server has taken back the outstanding request (no call can arrive
  // any more) and every call that arrived has been answered and its answer
  // has left, or until `end`. Returns how many answers have not.
  int AwaitSent(absl::Time end) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithDeadline(absl::Condition(this, &InferQueue::SentLocked), end);
    return unsent_;
  }

  // After grpc::Server::Shutdown: waits until every call that arrived has
  // been answered (the InferenceService answers those still running) and the
  // outstanding request has come back failed, so that no operation can start
  // on the queue any more; then shuts the queue down and drains it.
  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &InferQueue::IdleLocked));
      cq_->Shutdown();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void RequestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    new AsyncInfer(this, service_, cq_.get());
    requested_ = true;
  }
  bool IdleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return unanswered_ == 0 && !requested_;
  }
  bool SentLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return unsent_ == 0 && !requested_; }

  void Poll() {
    pthread_setname_np(pthread_self(), "tide-grpc");
    void* tag = nullptr;
    bool ok = false;
    while (cq_->Next(&tag, &ok)) {
      auto* t = static_cast<AsyncInfer::Tag*>(tag);
      t->call->On(t->event, ok);
    }
  }

  const GrpcServer::Options& o_;
  Service* const service_;
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::thread thread_;
  absl::Mutex mu_;
  int unanswered_ ABSL_GUARDED_BY(mu_) = 0;  // arrived, Finish not yet called
  int unsent_ ABSL_GUARDED_BY(mu_) = 0;      // arrived, kFinished not yet come
  // A RequestModelInfer is outstanding: its event (a call, or a failure
  // once the server is shut down) is still to come.
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
};

void AsyncInfer::On(Event event, bool ok) {
  switch (event) {
    case Event::kArrived:
      if (!queue_->Matched(ok)) {  // the server shut down before a call came
        delete this;               // never started: no other event comes
        return;
      }
      OnArrived();
      return;
    case Event::kDone:
      // IsCancelled() may be read only once this event came.
      cancelled_.store(ctx_.IsCancelled(), std::memory_order_relaxed);
      Release();
      return;
    case Event::kFinished:
      queue_->Sent();
      Release();
      return;
  }
}

void AsyncInfer::OnArrived() {
  InferQueue* queue = queue_;
  auto request = ToInferRequest(queue->options(), *arena_.request(), ctx_.deadline(),
                                [this] { return cancelled_.load(std::memory_order_relaxed); });
  if (!request.ok()) {
    Answer(request.status());
    queue->Answered();
    return;
  }
  // The callback runs on the worker that answers (or here, when the request
  // is refused or runs inline). After Finish the call may be deleted by the
  // poller at any moment: nothing below Answer() touches `this`.
  queue->options().service->Infer(
      *std::move(request), [this, queue](absl::StatusOr<core::InferResponse> r) {
        if (r.ok()) ToProto(*std::move(r), arena_.response());  // the bytes moved, not copied
        Answer(r.status());
        queue->Answered();
      });
}

}  // namespace

struct GrpcServer::Impl {
  Options options;
  std::unique_ptr<Service> service;
  std::unique_ptr<HealthService> health;
  std::unique_ptr<grpc::Server> server;
  std::vector<std::unique_ptr<InferQueue>> infer;  // one per --grpc-threads
  int port = 0;
};

namespace {

// libprotobuf writes its own lines to stderr, outside tide's log format: a
// request with a string that is not UTF-8 wrote one per call ("String field
// ... contains invalid UTF-8 data when parsing a protocol buffer"), so any
// client could fill the log. Its messages go through tide's logger; those a
// client's bytes cause at debug level, the others as warnings.
void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    spdlog::critical("protobuf {}:{}: {}", file, line, message);
    return;
  }
  const bool from_the_wire = message.find("invalid UTF-8") != std::string::npos ||
                             message.find("parsing a protocol") != std::string::npos;
  if (from_the_wire) {
    spdlog::debug("protobuf: {}", message);
  } else {
    spdlog::warn("protobuf {}:{}: {}", file, line, message);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Create(Options options) {
  static std::once_flag protobuf_log;
  std::call_once(protobuf_log, [] { google::protobuf::SetLogHandler(&ProtobufLog); });
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
  // gRPC's limits are ints: a bound of 2 GiB or more is gRPC's largest
  // message (a plain cast made 4 GiB a limit of 0, failing every call). The
  // answer is not bounded by the request's limit: an answer a few bytes
  // larger than a request just under it would fail after the model ran.
  const size_t max_receive =
      std::min<size_t>(impl->options.max_message_bytes, std::numeric_limits<int>::max());
  builder.SetMaxReceiveMessageSize(static_cast<int>(max_receive));
  builder.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  const absl::Duration age = impl->options.max_connection_age;
  if (age > absl::ZeroDuration() && age != absl::InfiniteDuration()) {
    // gRPC's own: GOAWAY once a connection is this old (±10 %), calls under
    // way finish (no grace limit), new ones go on a new connection.
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(age), 1, INT32_MAX)));
  }
  builder.RegisterService(impl->service.get());
  impl->health = std::make_unique<HealthService>(impl->options);
  builder.RegisterService(impl->health.get());
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  for (int i = 0; i < std::max(impl->options.threads, 1); ++i) {
    queues.push_back(builder.AddCompletionQueue());
  }
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", impl->options.host, ":", impl->options.port, " (grpc)"));
  }
  for (auto& cq : queues) {
    impl->infer.push_back(
        std::make_unique<InferQueue>(impl->options, impl->service.get(), std::move(cq)));
    impl->infer.back()->Start();
  }
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

int GrpcServer::port() const { return impl_->port; }

void GrpcServer::Shutdown(absl::Duration deadline) {
  if (!impl_->server) return;
  // grpc::Server::Shutdown stops taking calls at once (GOAWAY: clients send
  // their next calls elsewhere) and waits for the calls under way, but also
  // for every client to close its connection; a client that keeps its
  // channel open (most do) would hold it for the whole deadline. So it runs
  // on a thread of its own while tide waits for ModelInfer's answers to be
  // sent, and then the connections still open, idle ones, are closed. That
  // wait ends only once the shutdown has begun (the queues' requests come
  // back failed): closing connections before it (the thread may not have
  // started yet) would cancel calls that are still arriving and answered.
  const absl::Time end = absl::Now() + deadline;
  absl::Notification stopped;
  std::thread stopper([&] {
    impl_->server->Shutdown(absl::ToChronoTime(end));
    stopped.Notify();
  });
  int unsent = 0;
  for (auto& q : impl_->infer) unsent += q->AwaitSent(end);
  if (unsent > 0) {
    spdlog::warn("gRPC: {} ModelInfer answer(s) not sent within {}; cancelling them", unsent,
                 absl::FormatDuration(deadline));
  }
  // Repeated: a connection opened before the server stopped listening is
  // closed by the next round.
  while (!stopped.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
    grpc_server_cancel_all_calls(impl_->server->c_server());
  }
  stopper.join();
  // After the server's shutdown: gRPC's rule for async queues.
  for (auto& q : impl_->infer) q->Shutdown();
  impl_->server->Wait();
  impl_->server.reset();
  impl_->infer.clear();
}

}  // namespace tide::grpcfe
