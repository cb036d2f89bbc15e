#pragma once

// `tide tune --measure-resources`: the Deployment's resources from tide
// serve's own figures, measured on this machine with the real server (this
// binary's `serve`, on port 0):
//  - each model of the repository alone in a server: VmRSS after it is ready
//    and a few warm-up requests, and VmHWM (the peak while loading);
//  - the whole repository in one server (the pod): the tuned model under
//    Poisson load at the recommended configuration's per-replica peak rate
//    for a few seconds: VmHWM (peak), VmRSS at the end, and CPU seconds per
//    request (utime + stime of /proc/PID/stat over the load / answers).
// From those, RecommendResources gives requests and limits, and
// ResourcesPatchYaml the kustomize patch for deploy/k8s/base's Deployment
// (`tide`, container `tide`), commented with the measurements.
//
// Sockets, processes and /proc live here, not in src/tune (pure).

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::apps {

struct MeasureOptions {
  std::string tide_binary = "/proc/self/exe";
  std::string model_repository;
  std::string model;        // the tuned model: loaded at `rate`
  double rate = 1;          // requests/s: the per-replica peak rate
  double seconds = 10;      // of load
  int warmup_requests = 5;  // per model, one at a time
  uint64_t seed = 1;
};

struct ModelMemory {
  std::string name;
  bool loaded = false;
  std::string error;      // why it did not load, or why warm-up failed
  int64_t rss_bytes = 0;  // VmRSS after ready + warm-up
  int64_t hwm_bytes = 0;  // VmHWM then (the load's peak)
  uint64_t warmed = 0;    // warm-up requests answered
};

struct ResourceMeasurement {
  std::vector<ModelMemory> models;
  int64_t pod_ready_rss_bytes = 0;  // the whole repository, ready and warm
  int64_t pod_rss_bytes = 0;        // at the end of the load
  int64_t pod_hwm_bytes = 0;        // the peak, loading and load included
  double load_seconds = 0;
  double rate = 0;
  uint64_t answered = 0;
  uint64_t failed = 0;
  std::vector<std::string> errors;  // "144 http 503": the load's failures by cause
  double cpu_seconds = 0;           // of the server over the load
  double cpu_seconds_per_request = 0;
};

// Runs the servers and the load. Errors: the repository holds no model, the
// server cannot be started or never listens, the tuned model does not load.
absl::StatusOr<ResourceMeasurement> MeasureResources(const MeasureOptions& options,
                                                     std::ostream& log);

struct ResourceOptions {
  double memory_headroom = 0.25;              // limit = peak x (1 + headroom)
  std::optional<int64_t> memory_limit_bytes;  // the user's cap (--memory-limit)
  std::string memory_limit_text;              // as given, e.g. "512Mi"
  double cpu_request_cores = 1;               // what the simulation assumed
  std::string cpu_target;                     // "70 %" when the HPA scales on CPU; "" otherwise
  std::string deployment = "tide";            // deploy/k8s/base/deployment.yaml
  std::string container = "tide";
};

struct ResourceRecommendation {
  int64_t memory_request_bytes = 0;
  int64_t memory_limit_bytes = 0;
  std::string cpu_request;  // Kubernetes quantity
  std::string cpu_limit;
  // A model (or the pod) that needs more than --memory-limit: each names it
  // and its figure. Non-empty: do not deploy (exit 4).
  std::vector<std::string> problems;
  std::vector<std::string> warnings;
};

// Pure. Memory request: the larger of the pod's RSS (ready, and at the end of
// the load) and each model's RSS alone, + 5 % (RSS varies between runs),
// rounded up to a MiB. Memory limit:
// the largest VmHWM (the pod's, each model's) x (1 + headroom), rounded up to
// a MiB; or the user's --memory-limit, which must hold every peak. CPU
// request: the simulation's (the denominator of the CPU target); CPU limit:
// twice it.
ResourceRecommendation RecommendResources(const ResourceOptions& options,
                                          const ResourceMeasurement& m);

// "512Mi" for whole MiB, else bytes.
std::string MemoryQuantity(int64_t bytes);

// The strategic-merge patch, with the measurements as comments.
std::string ResourcesPatchYaml(const ResourceOptions& options, const ResourceMeasurement& m,
                               const ResourceRecommendation& r, const std::string& command);

}  // namespace tide::apps
