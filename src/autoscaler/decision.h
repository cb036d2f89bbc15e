#pragma once

// One HPA reconcile as a pure function: upstream's
// HorizontalController.reconcileAutoscaler (pkg/controller/podautoscaler/
// horizontal.go) from the point where the scale, pods and metrics have been
// read, to the replica count it writes.
//
//   Decision d = Decide(spec, config, snapshot, now, &history);
//   if (d.rescale && target.Scale(d.desired_replicas).ok())
//     RecordScale(spec, d.current_replicas, d.desired_replicas, now, &history);
//
// Decide never reads a clock, sleeps, allocates threads or does I/O; `now` is
// the one instant of the reconcile. It is thread-compatible: concurrent calls
// with distinct History objects are fine.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/replica_calculator.h"
#include "autoscaler/snapshot.h"

namespace tide::autoscaler {

// The outcome of one spec.metrics entry.
struct MetricStatus {
  bool valid = false;
  int32_t replicas = 0;                    // the proposal (valid only)
  std::optional<int32_t> utilization;      // percent, Utilization targets
  std::optional<int64_t> raw_utilization;  // milli per pod, Utilization targets
  std::optional<int64_t> usage;            // milli, other targets
  std::string reason;                      // e.g. "FailedGetResourceMetric" (invalid only)
  std::string error;                       // human message (invalid only)
};

struct Decision {
  int32_t current_replicas = 0;
  // scale.spec.replicas after this reconcile: equals current_replicas when
  // nothing is written, including when the reconcile fails.
  int32_t desired_replicas = 0;
  // desired_replicas != current_replicas: the caller should write the scale.
  bool rescale = false;
  // False when an early exit applied (no metric was read).
  bool metrics_evaluated = false;
  std::vector<MetricStatus> metrics;  // aligned with spec.metrics when evaluated
  std::optional<int32_t> proposal;    // max over valid metrics, before normalization
  // The reconcile returns an error: all metrics failed, a failing metric
  // blocked a scale-down, or some metric failed while scaling on the others.
  bool error = false;
  std::string error_message;
  // Machine-readable reason: ScalingDisabled, TooManyReplicas, TooFewReplicas,
  // ScaleUpLimit, ScaleDownLimit, ScaleUpStabilized, ScaleDownStabilized,
  // DesiredWithinRange, or a metric failure reason (FailedGet*Metric,
  // InvalidMetricSourceType).
  std::string reason;
  std::string message;  // human-readable
};

// One reconcile. `spec` must have been through ApplyDefaults(). Updates
// `history->recommendations` (and seeds it on the first reconcile) exactly as
// the upstream controller does; scale events are recorded by RecordScale().
Decision Decide(const HpaSpec& spec, const ControllerConfig& config, const Snapshot& snapshot,
                absl::Time now, History* history);

// Records a successful scale write from `previous` to `desired` replicas
// (storeScaleEvent). A no-op without spec.behavior or when nothing changed.
void RecordScale(const HpaSpec& spec, int32_t previous, int32_t desired, absl::Time now,
                 History* history);

// The HPA status condition ScaledToZero after a successful scale write from
// `previous` to `desired` (kScaledToZeroCondition mode): true when the HPA
// scaled from >0 to 0 with minReplicas 0 and an Object or External metric,
// false otherwise, and always false with the HPAScaleToZero gate off.
bool ScaledToZeroAfterScale(const HpaSpec& spec, const ControllerConfig& config, int32_t previous,
                            int32_t desired);

// The per-direction tolerances in effect (tolerancesForHpa).
Tolerances TolerancesFor(const HpaSpec& spec, const ControllerConfig& config);

}  // namespace tide::autoscaler
