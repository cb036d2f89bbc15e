#include "sim/knative.h"

#include <algorithm>
#include <cmath>

namespace tide::sim {

void KnativeScaler::SampleSecond(Nanos /*now*/) {
  samples_.push_back(static_cast<double>(cluster_->TotalOutstanding() + cluster_->held()));
  size_t keep = static_cast<size_t>(std::max<Nanos>(1, spec_.stable_window / kNanosPerSecond));
  while (samples_.size() > keep) samples_.pop_front();
}

double KnativeScaler::Average(size_t seconds) const {
  size_t n = std::min(seconds, samples_.size());
  if (n == 0) return 0;
  double sum = 0;
  for (size_t i = samples_.size() - n; i < samples_.size(); ++i) sum += samples_[i];
  return sum / static_cast<double>(n);
}

void KnativeScaler::Tick(Nanos now) {
  size_t stable_s = static_cast<size_t>(std::max<Nanos>(1, spec_.stable_window / kNanosPerSecond));
  size_t panic_s = static_cast<size_t>(std::max<double>(
      1, std::floor(static_cast<double>(stable_s) * spec_.panic_window_percentage / 100.0)));
  double stable = Average(stable_s);
  double panic = Average(panic_s);
  double target = std::max(0.01, spec_.target_concurrency * spec_.target_utilization);
  int32_t ready = std::max(1, cluster_->ready_count());
  stable_per_pod_ = stable / ready;
  panic_per_pod_ = panic / ready;

  auto bound = [&](double want) {
    double up = std::ceil(spec_.max_scale_up_rate * ready);
    double down = std::floor(ready / spec_.max_scale_down_rate);
    return static_cast<int32_t>(std::clamp(want, down, std::max(down, up)));
  };
  int32_t desired_stable = bound(std::ceil(stable / target));
  int32_t desired_panic = bound(std::ceil(panic / target));

  if (static_cast<double>(desired_panic) / ready >= spec_.panic_threshold) {
    if (!panicking_) max_panic_pods_ = cluster_->ready_count();
    panicking_ = true;
    panic_time_ = now;
  } else if (panicking_ && now - panic_time_ >= spec_.stable_window) {
    panicking_ = false;
    max_panic_pods_ = 0;
  }
  int32_t desired = desired_stable;
  if (panicking_) {
    max_panic_pods_ = std::max(max_panic_pods_, desired_panic);
    desired = max_panic_pods_;
  }
  if (stable > 0 || cluster_->held() > 0) last_nonzero_ = now;
  if (desired == 0 && now - last_nonzero_ < spec_.scale_to_zero_grace) desired = 1;
  if (cluster_->held() > 0) desired = std::max(desired, 1);
  desired = std::max(desired, spec_.min_scale);
  if (spec_.max_scale > 0) desired = std::min(desired, spec_.max_scale);
  if (desired != cluster_->desired()) (void)cluster_->SetReplicas(desired);
}

}  // namespace tide::sim
