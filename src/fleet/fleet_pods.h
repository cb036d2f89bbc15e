#pragma once

// The pods of a `tide up` fleet as the autoscaler's metric sources see them:
// the HPA's view of a pod (autoscaler::PodInfo: name, phase, readiness, start
// time, CPU request) plus where its metrics are served. Built from the
// ReplicaSupervisor's replicas by `tide up`; read by the scrape and
// Prometheus metric sources.

#include <cstdint>
#include <functional>
#include <vector>

#include "autoscaler/snapshot.h"

namespace tide::fleet {

struct FleetPod {
  autoscaler::PodInfo info;   // info.name is the replica's name, e.g. "tide-serve-3"
  uint16_t http_port = 0;     // on 127.0.0.1
  uint16_t metrics_port = 0;  // on 127.0.0.1; 0 while the replica is not listening yet
};

// The current pods (any thread; cheap).
using PodLister = std::function<std::vector<FleetPod>()>;

}  // namespace tide::fleet
