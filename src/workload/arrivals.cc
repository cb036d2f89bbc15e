#include "workload/arrivals.h"

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

}  // namespace tide::workload
