// The gRPC Link: one unary call slot on the worker's own HTTP/2 channel,
// through grpc++'s generic stub with the callback API (the request message is
// serialised once, ahead of the run). Completions arrive on gRPC's threads:
// the checker runs there, and the outcome is posted to the worker's loop.

#include <condition_variable>
#include <mutex>

#include "boost/asio/post.hpp"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "loadgen/engine.h"
#include "loadgen/link.h"
#include "loadgen/text.h"

namespace tide::loadgen {
namespace {

namespace asio = boost::asio;

// Calls still owned by gRPC; Drain() waits for none.
class Outstanding {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++n_;
  }
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--n_ == 0) cv_.notify_all();
  }
  void WaitNone() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return n_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t n_ = 0;
};

struct Shared {
  const EngineOptions* opt;
  asio::io_context* ioc;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  std::vector<grpc::ByteBuffer> requests;
  Outstanding outstanding;
};

struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
};

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

class GrpcLink final : public Link {
 public:
  GrpcLink(Shared* shared, LinkEvents* events) : shared_(shared), events_(events) {}

  // The channel connects by itself (and reconnects with gRPC's backoff); a
  // slot is ready unless the channel is known to be failing.
  void Connect() override {
    const uint64_t gen = gen_;
    const grpc_connectivity_state state = shared_->channel->GetState(/*try_to_connect=*/true);
    const std::string cause = state == GRPC_CHANNEL_TRANSIENT_FAILURE ? "connect_unavailable" : "";
    asio::post(*shared_->ioc, [this, gen, cause] {
      if (gen == gen_) events_->Connected(cause);
    });
  }

  void Send(size_t request_index) override {
    auto call = std::make_shared<Call>();
    const EngineOptions& opt = *shared_->opt;
    if (opt.timeout != absl::InfiniteDuration()) {
      // A safety net: the worker times the request out itself (and cancels).
      call->context.set_deadline(absl::ToChronoTime(absl::Now() + opt.timeout + absl::Seconds(1)));
    }
    current_ = call;
    const uint64_t gen = gen_;
    Shared* shared = shared_;
    shared->outstanding.Add();
    shared->stub->UnaryCall(
        &call->context, opt.grpc_method, grpc::StubOptions(), &shared->requests[request_index],
        &call->response, [this, shared, call, gen, request_index](grpc::Status status) mutable {
          GrpcAnswer answer;
          answer.code = static_cast<int>(status.error_code());
          answer.message = status.error_message();
          if (status.ok() && shared->opt->checker->WantsGrpcBody()) {
            answer.body = ToString(call->response);
          }
          std::string cause = shared->opt->checker->CheckGrpc(answer, request_index);
          // UNAVAILABLE may mean the connection is gone: go through Connect().
          const bool keep_open = status.error_code() != grpc::StatusCode::UNAVAILABLE;
          asio::post(*shared->ioc, [this, gen, code = answer.code, cause, keep_open] {
            if (gen != gen_) return;
            current_.reset();
            events_->Answered(code, cause, keep_open);
          });
          // This callback's hold on the call (its ClientContext) ends here, on
          // gRPC's thread, before Done(): once Drain() returns, the worker
          // destroys the links, the channel and, at the end, the process, and
          // a context destroyed on a gRPC thread after that aborted the run
          // now and then (gRPC 1.51: "assertion failed: prior > 0").
          call.reset();
          shared->outstanding.Done();  // last: Drain() may return, and the loop go, right after
        });
  }

  void Close() override {
    ++gen_;
    if (current_) current_->context.TryCancel();
    current_.reset();
  }

 private:
  Shared* shared_;
  LinkEvents* events_;
  uint64_t gen_ = 0;
  std::shared_ptr<Call> current_;
};

class GrpcLinkFactory final : public LinkFactory {
 public:
  explicit GrpcLinkFactory(std::unique_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::unique_ptr<Link> NewLink(LinkEvents* events) override {
    return std::make_unique<GrpcLink>(shared_.get(), events);
  }
  void Drain() override { shared_->outstanding.WaitNone(); }

 private:
  std::unique_ptr<Shared> shared_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LinkFactory>> NewGrpcLinkFactory(const EngineOptions& options,
                                                                asio::io_context& ioc,
                                                                int worker_index) {
  auto shared = std::make_unique<Shared>();
  shared->opt = &options;
  shared->ioc = &ioc;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // One TCP connection per worker, as the HTTP engine has its own sockets.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("tide.loadgen.worker", worker_index);
  shared->channel = grpc::CreateCustomChannel(options.target.HostPort(),
                                              grpc::InsecureChannelCredentials(), args);
  if (shared->channel == nullptr) {
    return absl::UnavailableError(
        Cat("cannot create a gRPC channel to ", options.target.HostPort()));
  }
  shared->stub = std::make_unique<grpc::GenericStub>(shared->channel);
  shared->requests.reserve(options.requests.size());
  for (const std::string& r : options.requests) {
    grpc::Slice slice(r);
    shared->requests.emplace_back(&slice, 1);
  }
  return std::make_unique<GrpcLinkFactory>(std::move(shared));
}

}  // namespace tide::loadgen
