#pragma once

// The simulator's agenda: events ordered by (time, sequence). The sequence is
// the order in which events were scheduled, so two events at the same
// simulated nanosecond always run in the same order: runs are deterministic.
// Time is an integer count of nanoseconds from the start of the simulation.
//
// A binary heap in a vector; not thread-safe (the simulation is single-threaded).

#include <algorithm>
#include <cstdint>
#include <vector>

namespace tide::sim {

using Nanos = int64_t;
inline constexpr Nanos kNanosPerSecond = 1'000'000'000;
inline constexpr Nanos kNever = INT64_MAX;

enum class EventKind : uint8_t {
  kBatchDone,       // pod, instance
  kBatchTimer,      // pod: the batch policy's wait is over
  kPodStarted,      // pod: container started (Pending -> Running)
  kPodReady,        // pod: readiness probe passed
  kDrainDeadline,   // pod: termination grace period over
  kControllerSync,  // the HPA's sync period / Knative's tick
  kMetricsServer,   // metrics-server scrapes the kubelets
  kPrometheus,      // Prometheus scrapes every pod
};

struct Event {
  Nanos time = 0;
  uint64_t seq = 0;
  EventKind kind = EventKind::kBatchDone;
  uint32_t pod = 0;
  uint32_t arg = 0;
};

class EventQueue {
 public:
  void Push(Nanos time, EventKind kind, uint32_t pod = 0, uint32_t arg = 0) {
    heap_.push_back(Event{time, next_seq_++, kind, pod, arg});
    std::push_heap(heap_.begin(), heap_.end(), Later);
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // The time of the earliest event, kNever when empty.
  Nanos NextTime() const { return heap_.empty() ? kNever : heap_.front().time; }
  Event Pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    Event e = heap_.back();
    heap_.pop_back();
    return e;
  }

 private:
  static bool Later(const Event& a, const Event& b) {
    return a.time != b.time ? a.time > b.time : a.seq > b.seq;
  }
  std::vector<Event> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace tide::sim
