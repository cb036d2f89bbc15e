#pragma once

// The scale subresource of `tide up`'s replica set, for the HPA Controller:
// spec.replicas is the supervisor's desired count, status.replicas the
// replicas that exist and are not being removed (as a ReplicaSet's
// status.replicas). Called from the thread that drives the Controller; the
// supervisor's SetDesired/desired/Replicas are thread-safe.

#include <cstdint>

#include "autoscaler/controller.h"
#include "fleet/replica_supervisor.h"

namespace tide::fleet {

class LocalScaleTarget : public autoscaler::ScaleTarget {
 public:
  // `supervisor` is not owned and must outlive this object.
  explicit LocalScaleTarget(ReplicaSupervisor* supervisor) : supervisor_(supervisor) {}

  absl::StatusOr<autoscaler::ScaleState> GetScale() override {
    autoscaler::ScaleState s;
    s.spec_replicas = supervisor_->desired();
    for (const ReplicaInfo& r : supervisor_->Replicas()) {
      if (r.state != ReplicaState::kTerminating) ++s.status_replicas;
    }
    return s;
  }

  absl::Status SetReplicas(int32_t replicas) override { return supervisor_->SetDesired(replicas); }

 private:
  ReplicaSupervisor* const supervisor_;
};

}  // namespace tide::fleet
