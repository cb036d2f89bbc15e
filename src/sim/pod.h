#pragma once

// One simulated replica (a pod running `tide serve` with one model): a
// bounded queue, `instances` model instances that each run one batch at a
// time, the server's own batch policy (batching::DecideBatch) choosing what
// runs, and the simulated backend's service-time model drawing how long it
// takes. CPU is accounted as the cluster would see it: a running batch in
// "cpu" mode uses one core.
//
// Lifecycle: Pending (start-up) -> Running, not ready -> Ready -> Draining
// (deleted: no new requests, finishes what it holds until the grace period)
// -> Gone. The Cluster drives the transitions; the Pod schedules its own
// batch events on the EventQueue. Single-threaded.

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/simulated/service_time.h"
#include "batching/batch_policy.h"
#include "sim/event_queue.h"
#include "sim/recorder.h"
#include "sim/sim_options.h"

namespace tide::sim {

class Pod {
 public:
  enum class State { kPending, kStarting, kReady, kDraining, kGone };

  // `id` indexes the cluster's pod table (events carry it); `seed` seeds this
  // pod's service-time draws (instance i uses seed + i, as the backend does).
  Pod(uint32_t id, const PodSpec* spec, uint64_t seed, Nanos created);

  // A request that arrived at `arrival` (now, or earlier when an activator
  // held it). False: the queue is full (refused at once, as the server's 503).
  bool Enqueue(Nanos arrival);
  // Starts what the batch policy says can start now, scheduling kBatchDone
  // (and kBatchTimer when the policy waits).
  void Pump(Nanos now, EventQueue* events, Recorder* recorder);
  // Instance `instance`'s batch finished at `now`.
  void CompleteBatch(uint32_t instance, Nanos now, EventQueue* events, Recorder* recorder);
  // The batch policy's wait timer fired.
  void OnTimer(Nanos now, EventQueue* events, Recorder* recorder);
  // The grace period is over: everything still held is lost. Returns how many.
  int64_t Kill();

  // Busy core-nanoseconds consumed up to `now` (cumulative).
  Nanos CpuNanos(Nanos now) const;
  // Nanoseconds batches occupied the pod's instances up to `now`, summed over
  // instances (cumulative), whatever the mode: each instance is one simulated
  // GPU in mode gpu, busy while a batch runs on it.
  Nanos BusyNanos(Nanos now) const;
  int instance_count() const { return static_cast<int>(instances_.size()); }

  uint32_t id() const { return id_; }
  const std::string& name() const { return name_; }
  State state() const { return state_; }
  void set_state(State s) { state_ = s; }
  Nanos created() const { return created_; }
  Nanos started() const { return started_; }
  Nanos ready_time() const { return ready_time_; }
  void set_started(Nanos t) { started_ = t; }
  void set_ready_time(Nanos t) { ready_time_ = t; }
  Nanos deleted() const { return deleted_; }
  void set_deleted(Nanos t) { deleted_ = t; }
  int64_t queued() const { return static_cast<int64_t>(queue_.size()); }
  int64_t running() const { return running_; }  // requests in running batches
  int64_t outstanding() const { return queued() + running_; }
  bool idle() const { return queue_.empty() && running_ == 0; }

 private:
  struct Instance {
    bool busy = false;
    Nanos batch_start = 0;
    std::vector<Nanos> arrivals;  // of the requests in the running batch
    backends::ServiceTimeModel service;
  };

  uint32_t id_;
  std::string name_;
  const PodSpec* spec_;
  State state_ = State::kPending;
  Nanos created_, started_ = 0, ready_time_ = 0, deleted_ = 0;
  std::deque<Nanos> queue_;  // arrival times, oldest first
  std::vector<Instance> instances_;
  int free_instances_;
  int64_t running_ = 0;
  Nanos cpu_done_ = 0;                      // busy nanoseconds of finished batches
  Nanos busy_done_ = 0;                     // the same in any mode (GPU busy time)
  Nanos timer_ = kNever;                    // pending kBatchTimer, if any
  std::vector<batching::QueuedItem> head_;  // reused for the policy's input
};

}  // namespace tide::sim
