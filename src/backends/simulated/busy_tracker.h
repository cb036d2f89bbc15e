#pragma once

// The share of a window of time during which a device was busy: the simulated
// backend's GPU utilization (mode gpu), computed as NVML's utilization.gpu is,
// the fraction of the last sample period in which the device ran work. Pure
// (time is passed in); not thread-safe (SimulatedGpuDevice locks around it).

#include <deque>
#include <utility>

#include "absl/time/time.h"

namespace tide::backends {

class BusyTracker {
 public:
  // `window`: the sample period (NVML's is 1/6 s to 1 s); `created`: the
  // device's start, before which it is not counted as idle.
  BusyTracker(absl::Duration window, absl::Time created) : window_(window), created_(created) {}

  // A batch started / finished occupying the device (calls alternate).
  void Begin(absl::Time t);
  void End(absl::Time t);

  // Busy time within [now - window, now] divided by the window's length
  // (only the part since `created` when that is shorter); 0..1.
  double Fraction(absl::Time now) const;
  // Busy time since creation up to `now` (a running batch counts to now).
  absl::Duration BusyTotal(absl::Time now) const;

  absl::Duration window() const { return window_; }

 private:
  const absl::Duration window_;
  const absl::Time created_;
  bool busy_ = false;
  absl::Time busy_since_;
  absl::Duration finished_total_ = absl::ZeroDuration();
  std::deque<std::pair<absl::Time, absl::Time>> recent_;  // finished intervals, oldest first
};

}  // namespace tide::backends
