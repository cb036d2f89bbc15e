#pragma once

// Per-metric replica proposals: upstream's ReplicaCalculator
// (pkg/controller/podautoscaler/replica_calculator.go) and the ratio helpers of
// metrics/utilization.go. Pure: every function reads only its arguments.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "autoscaler/snapshot.h"

namespace tide::autoscaler {

// The tolerance band [1 - down, 1 + up], both ends inclusive.
struct Tolerances {
  double down = 0.1;
  double up = 0.1;
  bool IsWithin(double ratio) const { return (1.0 - down) <= ratio && ratio <= (1.0 + up); }
};

struct MetricProposal {
  int32_t replicas = 0;
  std::optional<int32_t> utilization;      // percent (Utilization targets)
  std::optional<int64_t> raw_utilization;  // milli per pod (Utilization targets)
  std::optional<int64_t> usage;            // milli (all other targets)
};

struct CalculatorParams {
  Tolerances tolerances;
  absl::Duration cpu_initialization_period = absl::Minutes(5);
  absl::Duration delay_of_initial_readiness_status = absl::Seconds(30);
  bool pod_level_resources = true;
  bool missing_pods_use_target_above_100 = true;
  absl::Time now;
};

// Resource / ContainerResource with a Utilization target (GetResourceReplicas).
// `container` is empty for Resource metrics.
absl::StatusOr<MetricProposal> ResourceUtilizationReplicas(
    const CalculatorParams& p, int32_t current_replicas, int32_t target_utilization,
    std::string_view resource, std::string_view container, const Snapshot& snapshot);

// Resource / ContainerResource with an AverageValue target (GetRawResourceReplicas).
absl::StatusOr<MetricProposal> ResourceAverageValueReplicas(
    const CalculatorParams& p, int32_t current_replicas, int64_t target_milli,
    std::string_view resource, std::string_view container, const Snapshot& snapshot);

// Pods metrics (GetMetricReplicas).
absl::StatusOr<MetricProposal> PodsMetricReplicas(const CalculatorParams& p,
                                                  int32_t current_replicas, int64_t target_milli,
                                                  std::string_view metric_name,
                                                  const Snapshot& snapshot);

// Object with a Value target (GetObjectMetricReplicas).
absl::StatusOr<MetricProposal> ObjectValueReplicas(const CalculatorParams& p,
                                                   int32_t current_replicas, int64_t target_milli,
                                                   std::string_view metric_name,
                                                   const Snapshot& snapshot);

// Object with an AverageValue target (GetObjectPerPodMetricReplicas).
absl::StatusOr<MetricProposal> ObjectAverageValueReplicas(const CalculatorParams& p,
                                                          int32_t status_replicas,
                                                          int64_t target_milli,
                                                          std::string_view metric_name,
                                                          const Snapshot& snapshot);

// External with a Value target (GetExternalMetricReplicas).
absl::StatusOr<MetricProposal> ExternalValueReplicas(const CalculatorParams& p,
                                                     int32_t current_replicas, int64_t target_milli,
                                                     std::string_view metric_name,
                                                     const Snapshot& snapshot);

// External with an AverageValue target (GetExternalPerPodMetricReplicas).
absl::StatusOr<MetricProposal> ExternalAverageValueReplicas(const CalculatorParams& p,
                                                            int32_t status_replicas,
                                                            int64_t target_milli,
                                                            std::string_view metric_name,
                                                            const Snapshot& snapshot);

// Samples of one metric keyed by pod name (views into the Snapshot).
using SampleMap = absl::flat_hash_map<absl::string_view, Sample>;

// Pod classification (groupPods), exposed for tests.
struct PodGroups {
  int ready_count = 0;
  std::vector<std::string_view> unready;
  std::vector<std::string_view> missing;
  std::vector<std::string_view> ignored;
};
PodGroups GroupPods(const std::vector<PodInfo>& pods, const SampleMap& samples, bool is_cpu,
                    absl::Duration cpu_init, absl::Duration readiness_delay, absl::Time now);

// Go's int32(math.Ceil(x)) where upstream guards it: saturates at MaxInt32.
int32_t CeilToInt32Saturating(double x);

}  // namespace tide::autoscaler
