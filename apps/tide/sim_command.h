#pragma once

// `tide sim`: flags (filled in main.cc) → the arrival sequence, a pod model
// (from config.pbtxt or flags), the policies (HPA YAMLs, fixed fleets,
// Knative) → sim::Simulate per policy on the identical arrivals → the table
// on stdout, and the JSON, timeline CSV and SVG files asked for. A progress
// bar on stderr when it is a terminal and the run takes over a second.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/sim_options.h"
#include "workload/arrivals.h"

namespace tide::apps {

struct SimCommandOptions {
  // Traffic: a trace, or a synthetic arrival process over --duration.
  std::string trace;
  std::string trace_format = "auto";
  double start_s = 0;
  std::optional<double> duration_s;
  double time_scale = 1;
  double rate_scale = 1;
  std::string arrivals = "poisson";
  double rate = 0;
  // Shapes (step, spike, ramp, diurnal, mmpp): workload::ShapeParams.
  double peak_rate = 0;  // 0: 2 x rate
  double shape_at_s = 60;
  double shape_length_s = 60;
  double period_s = 86400;
  double mmpp_low_s = 60;
  double mmpp_high_s = 10;

  // A replica: a model of a repository, or these flags.
  std::string model_repository;
  std::string model;
  std::string profile;  // measured batch-size -> latency (tide load JSON or a table)
  double compute_ms = 50;
  double per_item_ms = 0;
  std::string distribution = "fixed";
  double jitter = 0.25;
  int instances = 1;
  int max_batch_size = 0;
  double max_queue_delay_us = 0;
  int64_t max_queue_size = 256;
  double cpu_request = 1;
  bool sleep_mode = false;
  std::string startup = "uniform:15:45";
  double readiness_delay_s = 2;
  double termination_grace_s = 30;

  // The cluster and the metrics pipeline.
  std::string balance = "random";
  double metrics_resolution_s = 15;
  double scrape_interval_s = 15;
  double rate_window_s = 60;
  double adapter_lag_s = 0;

  // Policies.
  std::vector<std::string> hpa_files;
  std::vector<int> fixed;
  bool knative = false;
  double knative_target = 100;
  double knative_utilization = 70;
  int knative_min_scale = 0;
  int knative_max_scale = 0;
  double sync_period_s = 15;
  double tolerance = 0.1;
  int initial_replicas = 0;

  // Output.
  double slo_latency_s = 0.5;
  std::string json_path;
  std::string timeline_csv_path;
  std::string svg_path;
  // A folder (created) for report.html (src/dashboard's page with the run),
  // results.json, timeline.csv and report.svg.
  std::string report_dir;
  uint64_t seed = 1;
  bool progress = true;
  // Tests: report this instead of the measured wall time (byte-identical JSON).
  std::optional<double> fixed_wall_seconds;
};

// Returns the exit code: 0 when every policy ran, 1 for bad input (the
// message on `err` names the file, line or field), 2 when an output file
// cannot be written.
int RunSimCommand(const SimCommandOptions& options, std::ostream& out, std::ostream& err);

// What `tide tune` shares with `tide sim`: the simulation options and the
// arrival sequence from the same flags, checked the same way (the policy
// flags are ignored). Errors: the message `tide sim` would print.
struct SimSetup {
  sim::SimOptions options;
  std::unique_ptr<workload::ArrivalProcess> arrivals;  // clone per run
  double span_s = 0;                                   // simulated seconds of traffic
  std::string traffic;                                 // what the arrivals are
  std::string pod;                                     // what a replica is
};
absl::StatusOr<SimSetup> PrepareSimSetup(const SimCommandOptions& options);

}  // namespace tide::apps
