#include "workload/arrivals.h"

#include <algorithm>
#include <cmath>

#include "common/text.h"

namespace tide::workload {

using common::Cat;

std::optional<absl::Duration> ConstantArrivals::Next() {
  // Rounded to the nanosecond from k, so the k-th offset is exact.
  double ns = std::round(static_cast<double>(k_++) * 1e9 / rate_);
  return absl::Nanoseconds(static_cast<int64_t>(ns));
}

std::unique_ptr<ArrivalProcess> ConstantArrivals::Clone() const {
  return std::make_unique<ConstantArrivals>(rate_);
}

PoissonArrivals::PoissonArrivals(double rate, uint64_t seed)
    : rate_(rate), seed_(seed), rng_(seed) {}

std::optional<absl::Duration> PoissonArrivals::Next() {
  // Inverse-CDF sampling from a 53-bit uniform in (0, 1]: the same bits on
  // every platform, unlike std::exponential_distribution.
  double u = (static_cast<double>(rng_() >> 11) + 1.0) * 0x1.0p-53;
  t_s_ += -std::log(u) / rate_;
  return absl::Nanoseconds(static_cast<int64_t>(std::round(t_s_ * 1e9)));
}

std::unique_ptr<ArrivalProcess> PoissonArrivals::Clone() const {
  return std::make_unique<PoissonArrivals>(rate_, seed_);
}

std::optional<absl::Duration> ListArrivals::Next() {
  if (i_ >= offsets_->size()) return std::nullopt;
  return (*offsets_)[i_++];
}

std::unique_ptr<ArrivalProcess> ListArrivals::Clone() const {
  return std::make_unique<ListArrivals>(offsets_);
}

absl::StatusOr<std::unique_ptr<ArrivalProcess>> MakeArrivals(const std::string& kind, double rate,
                                                             uint64_t seed) {
  if (!(rate > 0) || !std::isfinite(rate)) {
    return absl::InvalidArgumentError(Cat("rate must be > 0, got ", rate));
  }
  if (kind == "poisson") return std::make_unique<PoissonArrivals>(rate, seed);
  if (kind == "constant") return std::make_unique<ConstantArrivals>(rate);
  return absl::InvalidArgumentError(
      Cat("unknown arrival process '", kind, "' (poisson or constant)"));
}

ShapedArrivals::ShapedArrivals(Shape shape, const ShapeParams& params, uint64_t seed)
    : shape_(shape), p_(params), seed_(seed), rng_(seed) {}

double ShapedArrivals::Uniform() {
  return (static_cast<double>(rng_() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
}

double ShapedArrivals::Exponential(double rate) { return -std::log(Uniform()) / rate; }

double ShapedArrivals::RateAt(double t) const {
  switch (shape_) {
    case Shape::kStep:
      return t < p_.at_s ? p_.rate : p_.peak_rate;
    case Shape::kSpike:
      return t >= p_.at_s && t < p_.at_s + p_.length_s ? p_.peak_rate : p_.rate;
    case Shape::kRamp:
      if (t < p_.at_s) return p_.rate;
      if (t >= p_.at_s + p_.length_s) return p_.peak_rate;
      return p_.rate + (p_.peak_rate - p_.rate) * (t - p_.at_s) / p_.length_s;
    case Shape::kDiurnal:
      return std::max(0.0,
                      p_.rate + (p_.peak_rate - p_.rate) * std::sin(2 * M_PI * t / p_.period_s));
    case Shape::kMmpp:
      return high_ ? p_.peak_rate : p_.rate;
  }
  return p_.rate;
}

std::optional<absl::Duration> ShapedArrivals::Next() {
  if (shape_ == Shape::kMmpp) {
    if (switch_at_s_ < 0) switch_at_s_ = Exponential(1 / p_.mmpp_low_s);
    // Memoryless: a candidate past the switch is discarded and drawn again
    // from the switch at the new state's rate.
    while (true) {
      double next = t_s_ + Exponential(high_ ? p_.peak_rate : p_.rate);
      if (next < switch_at_s_) {
        t_s_ = next;
        break;
      }
      t_s_ = switch_at_s_;
      high_ = !high_;
      switch_at_s_ = t_s_ + Exponential(1 / (high_ ? p_.mmpp_high_s : p_.mmpp_low_s));
    }
  } else {
    double peak = std::max(p_.rate, p_.peak_rate);
    do {
      t_s_ += Exponential(peak);
    } while (Uniform() * peak > RateAt(t_s_));
  }
  return absl::Nanoseconds(static_cast<int64_t>(std::round(t_s_ * 1e9)));
}

std::unique_ptr<ArrivalProcess> ShapedArrivals::Clone() const {
  return std::make_unique<ShapedArrivals>(shape_, p_, seed_);
}

absl::StatusOr<std::unique_ptr<ArrivalProcess>> MakeShapedArrivals(const std::string& kind,
                                                                   const ShapeParams& p,
                                                                   uint64_t seed) {
  ShapedArrivals::Shape shape;
  if (kind == "step") {
    shape = ShapedArrivals::Shape::kStep;
  } else if (kind == "spike") {
    shape = ShapedArrivals::Shape::kSpike;
  } else if (kind == "ramp") {
    shape = ShapedArrivals::Shape::kRamp;
  } else if (kind == "diurnal") {
    shape = ShapedArrivals::Shape::kDiurnal;
  } else if (kind == "mmpp") {
    shape = ShapedArrivals::Shape::kMmpp;
  } else {
    return absl::InvalidArgumentError(
        Cat("unknown arrival shape '", kind, "' (step, spike, ramp, diurnal or mmpp)"));
  }
  auto positive = [](double v) { return v > 0 && std::isfinite(v); };
  if (!positive(p.rate)) return absl::InvalidArgumentError(Cat("rate must be > 0, got ", p.rate));
  if (!positive(p.peak_rate)) {
    return absl::InvalidArgumentError(Cat("peak rate must be > 0, got ", p.peak_rate));
  }
  if (!(p.at_s >= 0) || !positive(p.length_s) || !positive(p.period_s) || !positive(p.mmpp_low_s) ||
      !positive(p.mmpp_high_s)) {
    return absl::InvalidArgumentError(
        "shape times must be finite: at >= 0; length, period and MMPP stays > 0");
  }
  if (shape == ShapedArrivals::Shape::kDiurnal && p.peak_rate > 2 * p.rate) {
    return absl::InvalidArgumentError(Cat("diurnal: the peak rate (", p.peak_rate,
                                          ") must be <= 2 x the mean rate (", p.rate, ")"));
  }
  return std::make_unique<ShapedArrivals>(shape, p, seed);
}

}  // namespace tide::workload
