#pragma once

// One policy against one arrival sequence: the discrete-event loop that ties
// the pods, the cluster, the metrics pipeline and the autoscaler together,
// and what came out of it.
//
// Time is simulated (integer nanoseconds from 0); nothing here reads a clock,
// sleeps, or starts a thread. The same options, policy and arrival sequence
// give the same result, bit for bit.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/sim_options.h"
#include "workload/arrivals.h"

namespace tide::sim {

// One second of one policy's run.
struct TimelineRow {
  int64_t second = 0;
  uint64_t arrivals = 0;
  uint64_t completed = 0;
  uint64_t rejected = 0;  // refused or lost at shutdown
  int32_t desired = 0;
  int32_t ready = 0;
  int32_t replicas = 0;  // pods that exist (what is paid for)
  int64_t queued = 0;    // waiting in the pods' queues at the end of the second
  double p99_s = -1;     // of the requests completed in the second; -1: none
  // Each autoscaler metric as the autoscaler last saw it (HPA: utilization %
  // or value; Knative: stable and panic concurrency); NaN before any.
  std::vector<double> seen;
};

struct PolicyResult {
  std::string name;
  uint64_t requests = 0;
  uint64_t completed = 0;
  uint64_t rejected = 0;  // refused (queue full, no ready replica) + lost when a pod was killed
  double latency_mean_s = 0, latency_p50_s = 0, latency_p95_s = 0, latency_p99_s = 0,
         latency_max_s = 0;
  double wait_mean_s = 0;
  double wait_p_positive = 0;
  double slo_attainment = 0;
  double replica_seconds = 0;
  double replicas_mean = 0;
  int32_t replicas_max = 0;
  int64_t scale_ups = 0;
  int64_t scale_downs = 0;
  double duration_s = 0;
  double cost_per_million = 0;  // replica-seconds per million requests
  // The longest run of seconds from the first one that missed the SLO (its p99
  // above the SLO, or requests refused) to the next one that met it.
  double slo_recovery_s = 0;
  uint64_t batches = 0;
  double mean_batch_size = 0;  // requests per batch
  std::vector<std::string> seen_names;
  std::vector<TimelineRow> timeline;  // empty unless SimOptions::timeline
};

// Called now and then with the simulated time reached (seconds).
using ProgressFn = std::function<void(double simulated_s)>;

// Runs `policy`. `arrivals` yields the arrival offsets (consumed). Errors: an
// HPA spec the API server would refuse (InvalidArgument, one field per line).
absl::StatusOr<PolicyResult> Simulate(const SimOptions& options, const PolicySpec& policy,
                                      workload::ArrivalProcess* arrivals,
                                      const ProgressFn& progress = nullptr);

}  // namespace tide::sim
