#pragma once

// `tide up --demo`'s built-in traffic (also the integration tests' load): an
// open-loop client that sends V2 inference requests to the router at a rate
// that follows a bounded shape of segments (warm-up, ramp, spike, fall,
// quiet), with Poisson-free constant spacing so runs are repeatable. Workers
// hold keep-alive connections; when all are busy, due requests wait at the
// client (counted late, never dropped).
//
// Thread safety: every method may be called from any thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tide::fleet {

struct TrafficSegment {
  std::string name;  // "warm-up", "ramp", ...
  absl::Duration length;
  double rate_from = 0;  // requests per second at the segment's start
  double rate_to = 0;    // ... and at its end (linear in between)
};

// The demo's shape for a machine with `cores` cores, for the simulated model
// (50 ms of CPU per request): peaks at 80 % of the machine (~4 minutes).
std::vector<TrafficSegment> DemoShape(int cores);

struct DemoTrafficStats {
  uint64_t sent = 0;
  uint64_t ok = 0;      // answered 200
  uint64_t errors = 0;  // any other answer, or a connection failure
  // The first few distinct error texts ("HTTP 503: ...", "connection reset").
  std::vector<std::string> error_samples;
};

// One blocking keep-alive POST at a time on 127.0.0.1:port; reconnects when
// the server closes, and sends again once when a reused connection turns out
// to have been closed while idle (no byte of an answer came back). Returns the
// status code; Unavailable for a connection that failed before a complete
// answer.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(uint16_t port, absl::Duration timeout = absl::Seconds(60))
      : port_(port), timeout_(timeout) {}
  ~KeepAliveClient();
  absl::StatusOr<int> Post(const std::string& path, const std::string& body,
                           std::string* response_body = nullptr);

 private:
  absl::StatusOr<int> PostOnce(const std::string& path, const std::string& body,
                               std::string* response_body, bool* stale);
  uint16_t port_;
  absl::Duration timeout_;
  int fd_ = -1;
};

// The body of one infer request to the simulated model (INPUT0, FP32 [1,16]).
std::string SimulatedInferBody();

class DemoTraffic {
 public:
  struct Options {
    uint16_t port = 0;  // the router
    std::string model = "simulated";
    std::vector<TrafficSegment> shape;  // empty: DemoShape(hardware cores)
    int workers = 48;
  };

  static absl::StatusOr<std::unique_ptr<DemoTraffic>> Start(Options options);
  ~DemoTraffic();  // Stop()

  // The current segment's name; "done" after the last.
  std::string Phase() const;
  bool Done() const;
  DemoTrafficStats Stats() const;
  // Stops sending; waits for the requests in flight.
  void Stop();

 private:
  explicit DemoTraffic(Options options) : options_(std::move(options)) {}
  void Schedule();
  void Work();
  bool WorkReady() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || due_ > 0; }

  const Options options_;
  std::string body_;
  absl::Time start_;
  std::thread scheduler_;
  std::vector<std::thread> workers_;
  mutable absl::Mutex mu_;
  uint64_t due_ ABSL_GUARDED_BY(mu_) = 0;  // requests due and not taken yet
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::string phase_ ABSL_GUARDED_BY(mu_);
  DemoTrafficStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tide::fleet
