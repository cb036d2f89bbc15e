#pragma once

// `tide tune`'s search: HPA configurations (metric, target, minReplicas,
// scale-up and scale-down behavior) run through the simulator
// (sim::Simulate, exactly as `tide sim --hpa` runs them) on the identical
// arrival sequence, and the cheapest one that meets the SLO.
//
// The search (docs/tune.md): the cheapest fixed fleet N (a bisection over
// 1..maxReplicas); a coarse grid of metric x target x minReplicas (from N)
// with the seed's behavior; then a coordinate search from the best few
// (target, minReplicas, scale-down window and policy, scale-up window and
// policy, one dimension at a time, until no step improves). Deterministic:
// the same options and arrivals give the same evaluations in the same order,
// whatever `jobs` is.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "autoscaler/hpa_spec.h"
#include "sim/simulation.h"
#include "workload/arrivals.h"

namespace tide::tune {

enum class Metric { kCpu, kQueueDepth, kP99 };

// "cpu", "queue-depth", "p99".
std::string MetricName(Metric m);
absl::StatusOr<Metric> ParseMetric(std::string_view name);

// One HPA configuration of the search space.
struct Candidate {
  Metric metric = Metric::kCpu;
  // cpu: averageUtilization (%); queue-depth: AverageValue (requests per
  // pod); p99: Value (seconds).
  double target = 50;
  int32_t min_replicas = 1;
  int32_t max_replicas = 10;
  int32_t up_window_s = 0;      // scaleUp.stabilizationWindowSeconds
  int32_t up_percent = 100;     // scaleUp Percent policy per 15 s (with +4 Pods, Max)
  int32_t down_window_s = 300;  // scaleDown.stabilizationWindowSeconds
  int32_t down_percent = 100;   // scaleDown Percent policy per 15 s
};

// "queue-depth 2, min 3, up 0s/100%, down 300s/100%": also the cache key.
std::string Describe(const Candidate& c);

// The autoscaling/v2 spec (scaleTargetRef Deployment `deployment`; custom
// metrics selected by model=`model`).
autoscaler::HpaSpec ToHpaSpec(const Candidate& c, const std::string& model,
                              const std::string& deployment = "tide");

// The target as the YAML writes it: "50" (%), "2", "500m", "150m" (seconds).
std::string TargetQuantity(const Candidate& c);

// --robust K: K more arrival sequences every candidate must also meet the SLO
// on, so the choice does not overfit one sequence. Copy k (0-based) has the
// rate scaled by RobustRateFactors(K)[k] and the seed RobustSeed(seed, k).
struct Scenario {
  std::string name;     // "x0.8, seed 2"
  sim::SimOptions sim;  // its seed (and horizon); timeline is ignored
  std::shared_ptr<const workload::ArrivalProcess> arrivals;  // cloned per run
};

// The rate factors of K copies, spread evenly over +-20 %: K = 1: {1.0} (only
// re-seeded); K >= 2: 0.8 + 0.4 k / (K - 1), k = 0..K-1 (K = 2: {0.8, 1.2};
// K = 3: {0.8, 1.0, 1.2}). Empty for K <= 0.
std::vector<double> RobustRateFactors(int k);
// Copy k's seed: seed + 1 + k (never the original's).
uint64_t RobustSeed(uint64_t seed, int k);

struct TuneOptions {
  sim::SimOptions sim;  // the pod, cluster, metrics, SLO latency; timeline is ignored
  // --robust: a candidate meets the SLO only if it meets it on `sim` with the
  // arrivals given to Tune AND on each of these; its cost is still the
  // replica-seconds on the original arrivals.
  std::vector<Scenario> robust;
  double slo_attainment = 0.99;
  int32_t max_replicas = 10;  // the user's cap
  std::string model = "simulated";
  std::vector<Metric> metrics = {Metric::kCpu, Metric::kQueueDepth, Metric::kP99};
  std::vector<double> cpu_targets = {30, 40, 50, 60, 70, 80, 90};
  std::vector<double> queue_targets = {0.5, 1, 2, 4, 8, 16};
  std::vector<double> p99_fractions = {0.25, 0.5, 0.75, 1.0};  // of the SLO latency
  std::vector<int32_t> up_windows = {0, 30, 60, 120};
  std::vector<int32_t> up_percents = {50, 100, 200, 400};
  std::vector<int32_t> down_windows = {0, 60, 120, 300, 600};
  std::vector<int32_t> down_percents = {10, 25, 50, 100};
  int keep = 3;        // grid survivors refined by the coordinate search
  int max_passes = 3;  // coordinate-search passes per survivor
  int jobs = 1;        // simulations run at once (threads)
};

struct Evaluation {
  std::string name;
  std::string stage;  // "fixed", "grid", "refine", "reference"
  bool is_fixed = false;
  int32_t fixed_replicas = 0;
  Candidate candidate;                    // when !is_fixed
  sim::PolicyResult result;               // on the original arrivals
  std::vector<sim::PolicyResult> robust;  // one per TuneOptions::robust copy
  bool meets = false;                     // on the original and every copy
};

// The lowest attainment over the original arrivals and the robust copies.
double WorstAttainment(const Evaluation& e);

// The objective: a meets the SLO and b does not; both meet: fewer
// replica-seconds (on the original arrivals), then fewer scaling events;
// neither: higher worst attainment (WorstAttainment), then fewer
// replica-seconds.
bool Better(const Evaluation& a, const Evaluation& b);

struct TuneResult {
  std::vector<Evaluation> evaluations;  // every one, in the order run
  int best = -1;                        // the recommended HPA (an index); -1: none
  bool met = false;                     // the best meets the SLO
  int cheapest_fixed = -1;              // index of the cheapest fixed fleet meeting it; -1: none
};

// Called after each evaluation: how many so far, and the best HPA so far.
using TuneProgress = std::function<void(size_t evaluated, const Evaluation* best)>;

// Runs the search. Errors: options out of range (InvalidArgument), a
// simulation error.
absl::StatusOr<TuneResult> Tune(const TuneOptions& options,
                                const workload::ArrivalProcess& arrivals,
                                const TuneProgress& progress = nullptr);

// One policy on a copy of `arrivals`.
absl::StatusOr<sim::PolicyResult> Run(const sim::SimOptions& options, const sim::PolicySpec& policy,
                                      const workload::ArrivalProcess& arrivals);

// The HPA candidates' Pareto front of (replica-seconds, attainment): indexes
// into `evaluations`, by replica-seconds ascending.
std::vector<int> ParetoFront(const std::vector<Evaluation>& evaluations);

}  // namespace tide::tune
