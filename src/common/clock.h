#pragma once

// Time is injected (docs/design.md, coding habit 4). Decision code takes `now` as an
// argument; loops that must wait take a Clock so tests can drive them without
// sleeping.

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tide::common {

// A source of time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic: never goes backwards. Only differences are meaningful.
  virtual absl::Time Now() const = 0;
};

// The process's monotonic clock (CLOCK_MONOTONIC, not wall time).
class MonotonicClock final : public Clock {
 public:
  absl::Time Now() const override;
  // A process-wide instance; the clock has no state.
  static const MonotonicClock* Get();
};

// A clock that moves only when told to. For tests and simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}
  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tide::common
