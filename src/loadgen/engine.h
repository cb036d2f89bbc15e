#pragma once

// The load engine: drives one load level against one address with one event
// loop (Asio) per worker thread, and measures it. Over HTTP/1.1 (asynchronous
// keep-alive connections) or gRPC (unary calls on one HTTP/2 channel per
// worker; a "connection" below is then one call slot).
//
// Closed loop (concurrency > 0): each of `concurrency` connections sends its
// next request as soon as the previous answer arrives. Latency is measured
// from the actual send.
// Open loop (arrivals set): requests are due at the times the ArrivalProcess
// gives, whatever the server does. A due request goes out on an idle
// connection, or waits in the client's queue for one (a new connection is
// opened while fewer than max_connections exist). Latency is measured from the
// *intended* send time, so time spent waiting for a stalled server is charged
// to it (no coordinated omission).
//
// Every response goes through the ResponseChecker; every failure is counted
// under a cause ("http_503", "timeout", "connect_refused", "bad_response: ..."),
// nothing is dropped. Only the one address given is contacted.
//
// Threads: Run() blocks the calling thread and runs `threads` workers; Live()
// and RequestStop() may be called from any thread meanwhile.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "loadgen/http_wire.h"
#include "workload/arrivals.h"
#include "workload/histogram.h"

namespace tide::loadgen {

// A gRPC call's outcome: its status code (0 = OK) and message, and the
// serialised response message when OK.
struct GrpcAnswer {
  int code = 0;
  std::string message;
  std::string body;
};

// "NOT_FOUND" for 5, ...; the number for codes beyond the standard ones.
std::string GrpcCodeName(int code);

// Judges a response. Called concurrently from worker threads: must be
// thread-safe (stateless or read-only).
class ResponseChecker {
 public:
  virtual ~ResponseChecker() = default;
  // "" when `response` answers request `request_index` (an index into
  // EngineOptions::requests) as expected; otherwise a short cause.
  virtual std::string Check(const HttpResponse& response, size_t request_index) const = 0;
  // The same for a gRPC answer. Default: OK is success, otherwise
  // "grpc_<CODE>" (e.g. "grpc_NOT_FOUND").
  virtual std::string CheckGrpc(const GrpcAnswer& answer, size_t request_index) const;
  // Whether CheckGrpc reads GrpcAnswer::body (otherwise it is not copied out).
  virtual bool WantsGrpcBody() const { return false; }
};

// Accepts any 2xx; anything else is "http_<status>".
class StatusChecker final : public ResponseChecker {
 public:
  std::string Check(const HttpResponse& response, size_t request_index) const override;
};

enum class EngineProtocol { kHttp, kGrpc };

struct EngineOptions {
  Url target;
  EngineProtocol protocol = EngineProtocol::kHttp;
  // kHttp: serialised HTTP requests (SerializeRequest); kGrpc: serialised
  // request messages for `grpc_method`. Sent in turn.
  std::vector<std::string> requests;
  std::string grpc_method = "/inference.GRPCInferenceService/ModelInfer";
  // Not owned; must outlive Run(). Null: StatusChecker.
  const ResponseChecker* checker = nullptr;

  // Exactly one of: concurrency > 0 (closed loop) or arrivals (open loop).
  int concurrency = 0;
  std::unique_ptr<workload::ArrivalProcess> arrivals;
  int max_connections = 1024;  // open loop, across all threads

  int threads = 1;
  absl::Duration warmup = absl::ZeroDuration();
  // Measurement window after the warm-up. InfiniteDuration: until the
  // arrivals end (trace) or max_requests.
  absl::Duration duration = absl::Seconds(10);
  // Requests to send in all (warm-up included); 0 = no limit.
  int64_t max_requests = 0;
  absl::Duration timeout = absl::Seconds(30);
  // Closed loop: pause before reconnecting after a failed connect, so a dead
  // server is not hammered in a tight loop.
  absl::Duration reconnect_backoff = absl::Milliseconds(10);
  // Keep one RequestRecord per request (tests, --request-log).
  bool record_requests = false;
  // Precision of the per-second timeline's histograms (2^-bits error).
  int timeline_sub_bits = 7;
};

// One second of the run (index = whole seconds since the run's start,
// warm-up included).
struct TimelineSecond {
  uint64_t scheduled = 0;  // open loop: requests due in this second
  uint64_t sent = 0;       // written to a connection in this second
  uint64_t completed = 0;  // successful answers received in this second
  uint64_t errors = 0;     // failures in this second
  int64_t max_in_flight = 0;
  int64_t max_queued = 0;  // open loop: due but waiting for a connection
  // Latencies of this second's completions (ns), sparse log-linear buckets.
  std::vector<std::pair<uint32_t, uint64_t>> latency_buckets;
};

struct RequestRecord {
  int64_t intended_ns = 0;  // offset from run start; closed loop: = sent_ns
  int64_t sent_ns = -1;     // -1 if never written
  int64_t done_ns = 0;
  int status = 0;     // HTTP status or gRPC code, 0 if none
  std::string cause;  // "" on success
};

struct EngineResult {
  bool open_loop = false;
  double window_s = 0;     // measured window (warm-up excluded)
  uint64_t scheduled = 0;  // open loop: requests due in the window
  uint64_t sent = 0;       // requests written in the window
  uint64_t ok = 0;         // successful answers to window requests
  uint64_t failed = 0;
  uint64_t abandoned = 0;                  // in flight when stopped by RequestStop()
  std::map<std::string, uint64_t> errors;  // cause -> count
  workload::Histogram latency;             // successful requests; open loop: from intended time
  workload::Histogram service_time;        // successful requests, from the actual send
  // Failed requests that got an answer (an HTTP status or gRPC code: e.g. the
  // server's 503 / UNAVAILABLE rejections), from the actual send.
  workload::Histogram answered_error_service_time;
  workload::Histogram dispatch_lag;  // open loop: how late the client's timer ran (ns)
  uint64_t late_dispatches = 0;      // open loop: timer ran > 5 ms after due
  uint64_t queued_requests = 0;      // open loop: had to wait for a connection
  int64_t connections_opened = 0;
  bool stopped = false;  // RequestStop() ended it
  double wall_s = 0;
  double cpu_s = 0;            // the process's CPU time during Run()
  double max_worker_busy = 0;  // busiest worker's CPU / wall (its loop or its gRPC poller)
  int timeline_sub_bits = 7;
  std::vector<TimelineSecond> timeline;
  std::vector<RequestRecord> records;  // when record_requests

  // Successful answers per second of window.
  double Throughput() const { return window_s > 0 ? ok / window_s : 0; }
};

// Counters readable while a run is in progress.
struct LiveStats {
  double elapsed_s = 0;
  uint64_t sent = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  int64_t p99_ns = 0;  // so far, 1 % precision
};

class LoadEngine {
 public:
  static absl::StatusOr<std::unique_ptr<LoadEngine>> Create(EngineOptions options);
  ~LoadEngine();

  // Runs the level to its end (duration, max_requests, arrivals' end or
  // RequestStop()). Call once.
  EngineResult Run();
  // Ends the run early; the results so far are returned by Run().
  void RequestStop() { stop_.store(true, std::memory_order_relaxed); }
  LiveStats Live() const;

 private:
  class Worker;
  friend class Worker;
  explicit LoadEngine(EngineOptions options);

  EngineOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> issued_{0};  // closed loop: requests issued (max_requests)
  std::atomic<int64_t> start_ns_{0};
  std::atomic<bool> running_{false};  // workers_ is built; Live() may read it
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable absl::Mutex live_mu_;
  workload::Histogram live_latency_ ABSL_GUARDED_BY(live_mu_){7};
};

}  // namespace tide::loadgen
