#pragma once

// `tide tune`: the flags of `tide sim` for the traffic and the replica, an SLO
// (latency, attainment) and a replica cap → tune::Tune on the first part of
// the trace → the recommended HPA as YAML (-o) with why each value was
// chosen, the Pareto front and reference rows (the seed's CPU HPA, Knative's
// KPA, the cheapest fixed fleet) with in-sample and held-out figures on
// stdout, and every candidate as JSON (--json). docs/tune.md.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "sim_command.h"

namespace tide::apps {

struct TuneCommandOptions {
  SimCommandOptions sim;  // traffic, replica, cluster, metrics, slo_latency_s, seed
  double slo_attainment = 0.99;
  int max_replicas = 10;
  std::vector<std::string> metrics = {"cpu", "queue-depth", "p99"};
  // Empty: tune::TuneOptions' defaults (docs/tune.md).
  std::vector<double> cpu_targets;
  std::vector<double> queue_targets;
  std::vector<double> p99_fractions;
  std::vector<int> up_windows;
  std::vector<int> up_percents;
  std::vector<int> down_windows;
  std::vector<int> down_percents;
  int keep = 3;
  // --robust K: K re-seeded, rate-scaled copies of the in-sample part that a
  // candidate must also meet the SLO on (tune::RobustRateFactors).
  int robust = 0;
  double holdout = 0.2;  // the last share of the trace, held out of the search
  std::string output_path;
  std::string json_path;
  std::string report_dir;  // --report DIR: pareto.svg and timeline.svg
  // Resource requests from measurement (tune_resources.h): run `tide serve`
  // on the repository and write a kustomize patch.
  bool measure_resources = false;
  std::string resources_patch_path;  // default: resources-patch.yaml beside -o (or in .)
  std::string memory_limit;          // a Kubernetes quantity; empty: peak x (1 + headroom)
  double memory_headroom = 0.25;     // above the measured peak
  double measure_seconds = 10;       // of load at the per-replica peak rate
  std::string reference_hpa = "deploy/k8s/overlays/hpa-cpu/hpa.yaml";
  bool knative = true;
  int jobs = 2;
  bool progress = true;
  std::optional<double> fixed_wall_seconds;  // tests: byte-identical output
};

// Returns 0 when a configuration meets the SLO, 3 when none does (the best
// found is still written), 1 for bad input (the message names the flag or
// file), 2 when an output file cannot be written, 4 when a measured model
// needs more memory than --memory-limit (or `tide serve` cannot be measured).
int RunTuneCommand(const TuneCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tide::apps
