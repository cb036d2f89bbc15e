#pragma once

// The HPA control loop for one HorizontalPodAutoscaler: every sync period it
// reads the scale from a ScaleTarget, asks a MetricsSource for pods and
// metric samples, decides (Decide), writes the new scale, and records the
// history, as upstream's HorizontalController does per HPA key.
//
// The Controller does no I/O of its own, never sleeps and starts no thread:
// callers drive it with RunOnce(now) (tests, `tide sim`'s event queue) or
// RunIfDue() against the injected Clock (`tide up`'s loop, which waits until
// NextSyncTime() itself). These two interfaces are the contract with the
// modules that plug real or simulated replicas in.

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autoscaler/decision.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/snapshot.h"
#include "common/clock.h"

namespace tide::autoscaler {

// The scale subresource of what is being autoscaled.
struct ScaleState {
  int32_t spec_replicas = 0;    // desired replicas as last written
  int32_t status_replicas = 0;  // replicas that currently exist
};

// What the controller scales (a local replica set in `tide up`, a simulated
// one in `tide sim`). Called only from the thread that drives the Controller.
class ScaleTarget {
 public:
  virtual ~ScaleTarget() = default;
  // Reads the scale. An error aborts the reconcile (nothing is decided).
  virtual absl::StatusOr<ScaleState> GetScale() = 0;
  // Sets spec.replicas. An error means the scale was not changed; no scale
  // event is recorded and the next reconcile tries again.
  virtual absl::Status SetReplicas(int32_t replicas) = 0;
};

// Where pods and metric samples come from (scraped /metrics, Prometheus,
// a simulation). Called only from the thread that drives the Controller.
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Fills `snapshot->pods` and `snapshot->metrics` for the metrics of `spec`
  // as observed at `now` (the replica counts are already set from the
  // ScaleTarget). A metric the source cannot provide is simply left out: the
  // decision then treats it as unavailable, as Kubernetes does. An error
  // aborts the reconcile.
  virtual absl::Status Observe(const HpaSpec& spec, absl::Time now, Snapshot* snapshot) = 0;
};

// What one reconcile did.
struct ReconcileResult {
  absl::Time time;
  absl::Status status;  // GetScale/Observe/SetReplicas failure, or OK
  std::optional<Decision> decision;
  bool scaled = false;  // SetReplicas(decision->desired_replicas) succeeded
};

class Controller {
 public:
  struct Options {
    HpaSpec spec;  // as parsed; Create validates and defaults it
    ControllerConfig config;
    ScaleTarget* target = nullptr;         // not owned, must outlive the Controller
    MetricsSource* metrics = nullptr;      // not owned
    const common::Clock* clock = nullptr;  // not owned; only RunIfDue reads it
  };

  // InvalidArgument when the spec does not validate (all field errors, one
  // per line) or a dependency is missing.
  static absl::StatusOr<std::unique_ptr<Controller>> Create(Options options);

  // One reconcile at `now`; schedules the next one a sync period later.
  ReconcileResult RunOnce(absl::Time now);
  // RunOnce(clock->Now()) if the next sync time has come, else nullopt.
  std::optional<ReconcileResult> RunIfDue();
  // When the next reconcile is due (the first one is due at once).
  std::optional<absl::Time> NextSyncTime() const { return next_sync_; }

  const HpaSpec& spec() const { return spec_; }
  const History& history() const { return history_; }
  const std::optional<ReconcileResult>& last() const { return last_; }
  // The HPA's ScaledToZero status condition, as the controller maintains it.
  bool scaled_to_zero_condition() const { return scaled_to_zero_; }

 private:
  explicit Controller(Options options);

  HpaSpec spec_;
  ControllerConfig config_;
  ScaleTarget* target_;
  MetricsSource* metrics_;
  const common::Clock* clock_;
  History history_;
  std::optional<absl::Time> next_sync_;
  std::optional<ReconcileResult> last_;
  bool scaled_to_zero_ = false;
};

}  // namespace tide::autoscaler
