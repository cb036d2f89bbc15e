#pragma once

// The inputs of one HPA decision other than the spec: the controller's flags
// (ControllerConfig), what the controller observes about the target
// (Snapshot: scale subresource, pods, metric samples) and what it remembers
// between reconciles (History). Plain values, owned by the caller.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "autoscaler/quantity.h"

namespace tide::autoscaler {

// kube-controller-manager's HPA flags and gates, with Kubernetes' defaults
// (docs/hpa-semantics.md §2).
struct ControllerConfig {
  // --horizontal-pod-autoscaler-tolerance
  double tolerance = 0.1;
  // --horizontal-pod-autoscaler-cpu-initialization-period
  absl::Duration cpu_initialization_period = absl::Minutes(5);
  // --horizontal-pod-autoscaler-initial-readiness-delay
  absl::Duration delay_of_initial_readiness_status = absl::Seconds(30);
  // --horizontal-pod-autoscaler-downscale-stabilization
  absl::Duration downscale_stabilization_window = absl::Minutes(5);
  // --horizontal-pod-autoscaler-sync-period (used by Controller only)
  absl::Duration sync_period = absl::Seconds(15);
  // Package variables of horizontal.go (legacy path only).
  double scale_up_limit_factor = 2.0;
  double scale_up_limit_minimum = 4.0;
  // Feature gates and behaviour switches.
  bool configurable_tolerance = true;  // HPAConfigurableTolerance
  bool pod_level_resources = true;     // PodLevelResources
  bool missing_pods_use_target_above_100 = true;
  enum class ScaleFromZero { kMinReplicasZero, kScaledToZeroCondition };
  ScaleFromZero scale_from_zero = ScaleFromZero::kMinReplicasZero;
  bool hpa_scale_to_zero = false;  // HPAScaleToZero (read in kScaledToZeroCondition)

  // What upstream's unit-test binary uses: scale-up factor 8, 2 min CPU
  // initialization, 10 s readiness delay.
  static ControllerConfig UpstreamUnitTest();
};

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed, kUnknown };

struct ContainerInfo {
  std::string name;
  // resource name -> request
  std::vector<std::pair<std::string, Quantity>> requests;
  std::string restart_policy;  // init containers: "Always" marks a sidecar

  const Quantity* Request(std::string_view resource) const {
    for (const auto& [name, q] : requests) {
      if (name == resource) return &q;
    }
    return nullptr;
  }
};

struct PodInfo {
  std::string name;
  PodPhase phase = PodPhase::kRunning;
  // Ready condition status; nullopt = the pod has no Ready condition.
  std::optional<bool> ready;
  // status.startTime; nullopt = unset.
  std::optional<absl::Time> start_time;
  // The Ready condition's lastTransitionTime (UnixEpoch stands for "unset").
  absl::Time ready_transition_time = absl::UnixEpoch();
  bool deleting = false;  // metadata.deletionTimestamp is set
  std::vector<ContainerInfo> containers;
  std::vector<ContainerInfo> init_containers;
  // spec.resources.requests (pod-level resources); empty = not set.
  std::vector<std::pair<std::string, Quantity>> pod_requests;
};

// One metric sample for one pod.
struct Sample {
  int64_t milli_value = 0;
  absl::Time timestamp = absl::UnixEpoch();
  absl::Duration window = absl::Minutes(1);
};

// Samples keyed by pod name. A nullopt sample exists but lacks the value
// (upstream drops such pods, so they count as "missing").
using PodSamples = absl::flat_hash_map<std::string, std::optional<Sample>>;
// container name -> sample
using ContainerSamples = absl::flat_hash_map<std::string, std::optional<Sample>>;

struct MetricsData {
  // Resource metrics (key: resource name, value = pod total) and Pods metrics
  // (key: metric name). An absent key or an empty map = the API returned nothing.
  absl::flat_hash_map<std::string, PodSamples> pod_metrics;
  // resource name -> pod name -> container samples. Used by ContainerResource,
  // and by Resource when pod_metrics lacks the resource.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, ContainerSamples>>
      container_metrics;
  // Object metric values (milli) by metric name; absent = API error.
  absl::flat_hash_map<std::string, int64_t> object_metrics;
  // External metric values (milli) by metric name; absent or empty = error.
  absl::flat_hash_map<std::string, std::vector<int64_t>> external_metrics;
};

// What one reconcile observes.
struct Snapshot {
  int32_t current_replicas = 0;  // scale.spec.replicas
  int32_t status_replicas = 0;   // scale.status.replicas
  bool scaled_to_zero_condition = false;
  std::vector<PodInfo> pods;  // the pods matching the scale's selector
  MetricsData metrics;
};

struct TimestampedRecommendation {
  absl::Time timestamp;
  int32_t replicas = 0;
};

struct ScaleEvent {
  absl::Time timestamp;
  int32_t replicas = 0;   // |new - previous|
  bool outdated = false;  // marked for reuse (markScaleEventsOutdated)
};

// What the controller remembers about one HPA between reconciles. The caller
// owns it; Decide() updates `recommendations`, RecordScale() the events.
struct History {
  // False until the first reconcile seeds {currentReplicas, now}.
  bool initialized = false;
  std::vector<TimestampedRecommendation> recommendations;
  std::vector<ScaleEvent> scale_up_events;
  std::vector<ScaleEvent> scale_down_events;
};

}  // namespace tide::autoscaler
