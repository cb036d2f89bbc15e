#pragma once

// The router of `tide up`: the fleet's front door, as a Kubernetes Service
// (kube-proxy) plus Knative's activator. It speaks the same KServe V2 REST
// API as `tide serve` (it forwards requests, bytes unchanged, including the
// binary tensor extension) and spreads them over the ready replicas by
// least outstanding requests with power-of-two choices, over keep-alive
// connection pools per replica. A request is retried on another replica only
// when it was certainly never delivered (connect refused, or the connection
// reset before any byte of it was written). When no replica is ready (scale
// from zero, all starting) requests are held up to `activation_timeout`, then
// answered 503 + Retry-After. `GET /v2/health/ready` is 200 when at least one
// replica is ready; `/v2/health/live` is always 200.
//
// Thread safety: every public method may be called from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tide::metrics {
class Registry;
}

namespace tide::fleet {

struct RouterBackend {
  std::string name;  // the replica's name, e.g. "tide-serve-3" (a metric label)
  uint16_t port = 0; // its HTTP port on 127.0.0.1
};

struct RouterBackendStats {
  std::string name;
  uint16_t port = 0;
  int outstanding = 0;     // requests sent to it and not yet answered
  uint64_t requests = 0;   // requests it answered (any status), since it was added
  uint64_t errors = 0;     // requests that failed on it (connection errors, 5xx)
};

class Router {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    uint16_t port = 8000;  // 0: any free port
    int threads = 2;       // I/O threads
    absl::Duration activation_timeout = absl::Seconds(30);
    absl::Duration upstream_timeout = absl::Seconds(60);  // a replica must answer within it (504 after)
    size_t max_body_bytes = 64 << 20;
    int max_connections = 4096;
    // Where the router's metrics go (tide_router_* families, names in
    // metrics/metric_names.h): requests and latency by model and code,
    // outstanding per replica. Not owned; must outlive the Router.
    metrics::Registry* registry = nullptr;
    uint64_t seed = 1;  // power-of-two choices
  };

  static absl::StatusOr<std::unique_ptr<Router>> Create(Options options);
  ~Router();  // Shutdown(absl::ZeroDuration())

  uint16_t port() const;

  // The replicas that receive new requests (the ready ones). A replica left
  // out stops receiving new requests at once; requests already sent to it
  // finish normally. Requests held for activation are released as soon as
  // the set is non-empty.
  void SetBackends(std::vector<RouterBackend> backends);
  // Per replica, those in the set and those taken out that still have
  // requests outstanding.
  std::vector<RouterBackendStats> Stats() const;
  // Waits until no request is outstanding on replica `name` (taken out of the
  // set beforehand), for at most `timeout`. True if none is.
  bool WaitIdle(const std::string& name, absl::Duration timeout);
  // Requests held now for activation (no replica ready).
  int HeldRequests() const;

  // Stops accepting, answers what was accepted (held requests get 503),
  // waits for outstanding requests up to `timeout`, closes everything.
  void Shutdown(absl::Duration timeout);

 private:
  struct Impl;
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The model a request path addresses, the router's metric label: the segment
// after /v2/models/ ("" for other paths and for /v2/models/stats).
std::string RouterModelLabel(std::string_view path);

}  // namespace tide::fleet
