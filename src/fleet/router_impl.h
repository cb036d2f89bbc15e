#pragma once

// The router's insides, shared by its two halves: router.cc (requests in,
// the choice of a replica, the activation hold, the public API) and
// router_upstream.cc (the upstream loops: connections to the replicas,
// sending, parsing, answering). Not for use outside the router.

#include <time.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "fleet/router.h"
#include "fleet/upstream_parser.h"
#include "frontends/http/http_server.h"
#include "frontends/http/http_types.h"
#include "metrics/metrics.h"

namespace tide::fleet {
namespace router_internal {

inline int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A replica as the router sees it. Shared by the set, the connections to it
// and the requests sent to it, so one taken out lives until they are done.
struct Backend {
  Backend(std::string n, uint16_t p) : name(std::move(n)), port(p) {}
  const std::string name;
  const uint16_t port;
  std::atomic<int> outstanding{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<bool> removed{false};
  metrics::Gauge* outstanding_gauge = nullptr;
};

// One client request on its way through the router.
struct Exchange {
  std::string head;  // request line and headers, as sent to a replica
  std::string body;  // as the client sent it (de-chunked), never re-encoded
  bool is_head = false;
  http::Responder respond;
  std::string model;  // metric label
  int64_t start_ns = 0;
  int64_t hold_deadline_ns = 0;
  std::shared_ptr<Backend> backend;  // where it is being sent
  // Refused it before any byte was delivered (held, so that a new replica
  // at a recycled address is never mistaken for one of them).
  std::vector<std::shared_ptr<Backend>> tried;
};

// One connection to a replica, owned by one upstream loop.
struct UpConn {
  enum class State { kConnecting, kWriting, kReading, kIdle };
  int fd = -1;
  std::shared_ptr<Backend> backend;
  State state = State::kConnecting;
  std::unique_ptr<Exchange> ex;
  size_t written = 0;
  std::string in;  // response bytes the parser has not taken yet
  std::unique_ptr<ResponseParser> parser;
  int64_t deadline_ns = 0;
  int64_t idle_since_ns = 0;
};

// An epoll thread that owns connections to the replicas: it sends the
// requests posted to it and answers them from the replicas' responses.
struct Loop {
  int epfd = -1;
  int evfd = -1;
  std::thread thread;
  bool handles_held = false;  // this loop expires held requests

  std::mutex inbox_mu;
  std::vector<std::unique_ptr<Exchange>> inbox;  // guarded by inbox_mu
  bool sleeping = false;                         // guarded by inbox_mu
  bool closed = false;                           // guarded by inbox_mu
  std::atomic<bool> stop{false};

  // Loop thread only.
  std::unordered_map<int, std::unique_ptr<UpConn>> conns;  // by fd
  std::unordered_map<const Backend*, std::vector<UpConn*>> idle;
};

}  // namespace router_internal

struct Router::Impl {
  using Backend = router_internal::Backend;
  using Exchange = router_internal::Exchange;
  using UpConn = router_internal::UpConn;
  using Loop = router_internal::Loop;

  Options options;
  std::unique_ptr<metrics::Registry> own_registry;
  metrics::Family<metrics::Counter>* requests_total = nullptr;
  metrics::Family<metrics::Histogram>* duration = nullptr;
  metrics::Family<metrics::Gauge>* outstanding = nullptr;
  metrics::Counter* retries = nullptr;
  metrics::Gauge* held_gauge = nullptr;
  int64_t upstream_timeout_ns = 0;
  int64_t activation_timeout_ns = 0;
  int64_t sweep_ns = 0;

  std::unique_ptr<http::HttpServer> server;
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<uint32_t> next_loop{0};

  mutable absl::Mutex mu;
  std::vector<std::shared_ptr<Backend>> set ABSL_GUARDED_BY(mu);  // receiving
  std::vector<std::shared_ptr<Backend>> all ABSL_GUARDED_BY(mu);  // the set and those draining
  std::deque<std::unique_ptr<Exchange>> held ABSL_GUARDED_BY(mu);
  std::mt19937_64 rng ABSL_GUARDED_BY(mu);
  bool shutting_down ABSL_GUARDED_BY(mu) = false;

  absl::Mutex idle_mu;
  absl::CondVar idle_cv;

  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;

  // --- any thread (router.cc) ---------------------------------------------

  void Handle(http::HttpRequest req, http::Responder respond);
  // Sends `ex` to a replica, holds it when none is ready, or answers it.
  void Dispatch(std::unique_ptr<Exchange> ex);
  // Power of two choices on outstanding requests, among the replicas in the
  // set that have not refused this request already.
  std::shared_ptr<Backend> Pick(const std::vector<std::shared_ptr<Backend>>& tried)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void Post(Loop& loop, std::unique_ptr<Exchange> ex);
  // Answers a request no replica has (held, refused, shutting down).
  void Answer(Exchange& ex, http::HttpResponse r);
  // Answers a request that was sent to ex.backend: it is no longer
  // outstanding there. `answered`: the replica answered (else it failed).
  void Release(Exchange& ex, http::HttpResponse r, bool answered);
  void Unload(Backend& b);
  void Record(const Exchange& ex, int status);
  // Held requests past the activation timeout get 503 + Retry-After.
  void ExpireHeld(int64_t now);

  // --- an upstream loop's thread (router_upstream.cc) ---------------------

  void Run(Loop* loop);
  void Start(Loop* loop, std::unique_ptr<Exchange> ex);
  UpConn* Connect(Loop* loop, const std::shared_ptr<Backend>& b, int* err);
  void OnEvent(Loop* loop, UpConn* c, uint32_t events);
  void Write(Loop* loop, UpConn* c);
  // The connection broke while a request was on it.
  void Broken(Loop* loop, UpConn* c, int err);
  // Reads what arrived. False if the connection is gone.
  bool Read(Loop* loop, UpConn* c);
  // The response on `c` is whole: answer it, keep `c` for the next request
  // when it may carry one (true) or close it (false: `c` is gone).
  bool Complete(Loop* loop, UpConn* c, bool eof);
  // Answers the request on `c` with `r` (the replica failed it) and closes `c`.
  void Fail(Loop* loop, UpConn* c, http::HttpResponse r);
  // `ex` was certainly never delivered to ex->backend (connection refused or
  // reset before a byte was written): send it to another replica.
  void Retry(Loop*, std::unique_ptr<Exchange> ex, int err);
  void Close(Loop* loop, UpConn* c);
  // Requests past the upstream timeout get 504; idle connections to
  // replicas taken out are closed; the held requests' timeouts.
  void Sweep(Loop* loop, int64_t now);
};

}  // namespace tide::fleet
