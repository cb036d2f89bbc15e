#pragma once

// The simulated cluster for one policy: the ReplicaSet (creates pods with a
// sampled start-up, deletes victims in ReplicaSet order and drains them within
// the grace period), the Service (spreads requests over ready pods: random
// like kube-proxy, round-robin, or least-outstanding with two random choices
// like tide up's router) and the cost meter (replica-seconds of every pod
// that exists: pending, running or terminating).
//
// It is the autoscaler's ScaleTarget: the Controller (or the Knative policy)
// calls SetReplicas; the cluster applies it at once, at the time of the
// current event. Single-threaded; the Simulation owns it and the EventQueue.

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "autoscaler/controller.h"
#include "sim/event_queue.h"
#include "sim/pod.h"
#include "sim/recorder.h"
#include "sim/sim_options.h"

namespace tide::sim {

class Cluster final : public autoscaler::ScaleTarget {
 public:
  Cluster(const SimOptions* options, EventQueue* events, Recorder* recorder);

  // `n` pods that are Ready at time 0 (started long before).
  void StartReady(int32_t n);

  // The Service: one request arriving at `now`. Refused (counted) when no
  // pod is ready (unless held, see below) or the chosen pod's queue is full.
  void Route(Nanos now);
  // Knative's activator: while no pod is ready, hold requests (unbounded, no
  // timeout), and send them in arrival order, keeping their arrival time, to
  // the ready pod with the shortest queue as queues have room; arrivals wait
  // behind those held.
  void set_hold_when_unready(bool hold) { hold_ = hold; }
  int64_t held() const { return static_cast<int64_t>(held_.size()); }
  // Dispatches an event addressed to a pod.
  void OnPodEvent(const Event& e);

  // ScaleTarget. `now` is the time of the event being processed.
  void set_now(Nanos now) { now_ = now; }
  absl::StatusOr<autoscaler::ScaleState> GetScale() override;
  absl::Status SetReplicas(int32_t replicas) override;

  // Integrates replica-seconds up to `now`.
  void AccountUntil(Nanos now);

  int32_t desired() const { return desired_; }
  int32_t ready_count() const { return static_cast<int32_t>(ready_.size()); }
  int32_t active_count() const { return active_; }                           // not terminating
  int32_t live_count() const { return static_cast<int32_t>(live_.size()); }  // exist (cost)
  int32_t max_live() const { return max_live_; }
  double replica_seconds() const { return static_cast<double>(replica_ns_) / 1e9; }
  int64_t scale_ups() const { return scale_ups_; }
  int64_t scale_downs() const { return scale_downs_; }
  // Pods that exist, in creation order (for the metrics pipeline).
  const std::vector<Pod*>& live() const { return live_; }
  int64_t TotalQueued() const;
  int64_t TotalOutstanding() const;

 private:
  Pod* Create(Nanos created);
  void Delete(Pod* pod);
  void Remove(Pod* pod);  // Gone: out of every list
  void RebuildReady();
  Pod* Pick();
  void FlushHeld(Nanos now);

  const SimOptions* options_;
  EventQueue* events_;
  Recorder* recorder_;
  Nanos now_ = 0;
  std::vector<std::unique_ptr<Pod>> pods_;  // by id; null once gone
  std::vector<Pod*> live_;
  std::vector<Pod*> ready_;
  int32_t active_ = 0;
  int32_t desired_ = 0;
  int32_t max_live_ = 0;
  std::mt19937_64 rng_;          // the Service's choices
  std::mt19937_64 startup_rng_;  // start-up durations
  uint64_t round_robin_ = 0;
  bool hold_ = false;
  std::deque<Nanos> held_;
  Nanos accounted_until_ = 0;
  __int128 replica_ns_ = 0;
  int64_t scale_ups_ = 0, scale_downs_ = 0;
};

}  // namespace tide::sim
