// The gRPC Link: one unary call slot on the worker's own HTTP/2 channel,
// through grpc++'s generic stub (the request message is serialised once,
// ahead of the run) on a completion queue of the worker's own, polled by one
// thread: the checker runs there, and the outcome is posted to the worker's
// loop. (On the callback API each answer also passed through gRPC's own
// callback threads, a hand-off and a wake-up more per call: client CPU that,
// on a machine shared with the server, the server measured does not get.)

#include <pthread.h>

#include <atomic>
#include <thread>

#include "boost/asio/post.hpp"
#include "common/clock.h"
#include "grpcpp/completion_queue.h"
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

class GrpcLink;

// One call: owned by its link (to cancel it) and, until its completion has
// been handled, by itself (`self`), which the poller drops.
struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  GrpcLink* link = nullptr;
  uint64_t gen = 0;
  size_t request_index = 0;
  std::shared_ptr<Call> self;
};

struct Shared {
  ~Shared() { StopPoller(); }
  // The queue stops taking calls; the poller still handles the completion
  // of every call in flight (Next returns each tag before it returns false),
  // then its thread ends.
  void StopPoller() {
    if (!poller.joinable()) return;
    cq.Shutdown();
    poller.join();
  }
  void Poll();

  const EngineOptions* opt;
  asio::io_context* ioc;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  std::vector<grpc::ByteBuffer> requests;
  grpc::CompletionQueue cq;
  std::thread poller;
  std::atomic<double> poller_cpu_s{0};  // the poller's CPU time, set as it ends
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
    call->link = this;
    call->gen = gen_;
    call->request_index = request_index;
    call->self = call;
    current_ = call;
    call->reader = shared_->stub->PrepareUnaryCall(&call->context, opt.grpc_method,
                                                   shared_->requests[request_index], &shared_->cq);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call.get());
  }

  // On the loop's thread: a call of this link ended (Shared::Poll).
  void Answered(uint64_t gen, int code, const std::string& cause, bool keep_open) {
    if (gen != gen_) return;
    current_.reset();
    events_->Answered(code, cause, keep_open);
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
  // Run cancelled the calls in flight: their completions come back soon,
  // and the poller has handled every one when it ends.
  void Drain() override { shared_->StopPoller(); }
  double TransportThreadCpuSeconds() const override { return shared_->poller_cpu_s.load(); }

 private:
  std::unique_ptr<Shared> shared_;
};

void Shared::Poll() {
  pthread_setname_np(pthread_self(), "tide-load-grpc");
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
    // Finish's tag comes back once, ok or not, with the call's status.
    std::shared_ptr<Call> call = std::move(static_cast<Call*>(tag)->self);
    GrpcAnswer answer;
    answer.code = static_cast<int>(call->status.error_code());
    answer.message = call->status.error_message();
    if (call->status.ok() && opt->checker->WantsGrpcBody()) answer.body = ToString(call->response);
    std::string cause = opt->checker->CheckGrpc(answer, call->request_index);
    // UNAVAILABLE may mean the connection is gone: go through Connect().
    const bool keep_open = call->status.error_code() != grpc::StatusCode::UNAVAILABLE;
    // The link is only touched on the loop's thread (a posted function the
    // stopped loop never runs is dropped with it).
    asio::post(*ioc,
               [link = call->link, gen = call->gen, code = answer.code, cause = std::move(cause),
                keep_open] { link->Answered(gen, code, cause, keep_open); });
    call.reset();  // this thread's hold on the call; Drain() joins it
  }
  poller_cpu_s.store(absl::ToDoubleSeconds(common::ThreadCpuTime()));
}

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
  Shared* raw = shared.get();
  shared->poller = std::thread([raw] { raw->Poll(); });
  return std::make_unique<GrpcLinkFactory>(std::move(shared));
}

}  // namespace tide::loadgen
