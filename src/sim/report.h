#pragma once

// What `tide sim` writes: the side-by-side table (people, terminal), the JSON
// (machines; the field names are a contract, docs/simulator.md), the
// per-second timeline CSV and the SVG (svg_report.h). Pure formatting:
// the same results give the same bytes.

#include <string>
#include <vector>

#include "sim/simulation.h"

namespace tide::sim {

// {"policies":[{"name":..,"requests":N,"completed":N,"rejected":N,
//   "latency_s":{"mean","p50","p95","p99","max"},"wait_s":{"mean","p_positive"},
//   "slo_attainment":x,"replica_seconds":x,"replicas":{"mean":x,"max":N},
//   "scale_ups":N,"scale_downs":N, ...extras}],
//  "wall_seconds":x,"simulated_requests_per_second":x}
// Extras per policy (after the contract's fields): cost_per_million_requests,
// slo_recovery_s, mean_batch_size, duration_s.
std::string ResultsJson(const std::vector<PolicyResult>& results, double wall_seconds);

// One column per policy, one row per measure.
std::string ResultsTable(const std::vector<PolicyResult>& results, double slo_s);

// second, arrivals, then per policy: desired, ready, replicas, queued,
// p99_s, rejected and each metric as the autoscaler saw it.
std::string TimelineCsv(const std::vector<PolicyResult>& results);

// A number as the reports print it: up to 6 significant digits, no trailing
// zeros; "null" (JSON) for NaN/inf.
std::string FormatNumber(double v);

}  // namespace tide::sim
