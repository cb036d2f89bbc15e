#include "backends/simulated/busy_tracker.h"

#include <algorithm>

namespace tide::backends {

void BusyTracker::Begin(absl::Time t) {
  if (busy_) return;
  busy_ = true;
  busy_since_ = t;
}

void BusyTracker::End(absl::Time t) {
  if (!busy_) return;
  busy_ = false;
  t = std::max(t, busy_since_);
  finished_total_ += t - busy_since_;
  recent_.emplace_back(busy_since_, t);
  // Keep only what a window ending now or later can still overlap.
  while (!recent_.empty() && recent_.front().second <= t - window_) recent_.pop_front();
}

double BusyTracker::Fraction(absl::Time now) const {
  const absl::Time from = std::max(now - window_, created_);
  if (now <= from) return 0;
  absl::Duration busy = absl::ZeroDuration();
  auto add = [&](absl::Time a, absl::Time b) {
    a = std::max(a, from);
    b = std::min(b, now);
    if (b > a) busy += b - a;
  };
  for (const auto& [a, b] : recent_) add(a, b);
  if (busy_) add(busy_since_, now);
  return std::clamp(absl::FDivDuration(busy, now - from), 0.0, 1.0);
}

absl::Duration BusyTracker::BusyTotal(absl::Time now) const {
  absl::Duration total = finished_total_;
  if (busy_ && now > busy_since_) total += now - busy_since_;
  return total;
}

}  // namespace tide::backends
