#pragma once

// The simulated model's service time: how long one batch of `rows` rows takes,
// compute_ms + per_item_ms × rows, drawn from a distribution. Pure apart from
// its own seeded generator (no clock, no I/O), so the simulated backend
// (which then burns or sleeps that long) and `tide sim` (which advances its
// simulated clock by it) draw exactly the same sequence for the same seed.
//
// Not thread-safe: each model instance (or simulated instance) owns one.

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace tide::backends {

enum class ServiceTimeDistribution { kFixed, kExponential, kLognormal };

struct ServiceTimeParams {
  double compute_ms = 50;  // per batch
  double per_item_ms = 0;  // per row of the batch
  ServiceTimeDistribution distribution = ServiceTimeDistribution::kFixed;
  double jitter = 0.25;  // lognormal sigma
};

class ServiceTimeModel {
 public:
  ServiceTimeModel(const ServiceTimeParams& params, uint64_t seed) : params_(params), rng_(seed) {}

  // The mean service time of a batch of `rows` rows, in ms.
  double MeanMs(int64_t rows) const {
    return params_.compute_ms + params_.per_item_ms * static_cast<double>(rows);
  }
  // One draw, truncated to whole microseconds. fixed: the mean; exponential:
  // that mean; lognormal: that mean with sigma = jitter (mu = ln(mean) - sigma²/2).
  absl::Duration Sample(int64_t rows);
  // The same draw in nanoseconds (a whole number of microseconds), for callers
  // that keep time as integers.
  int64_t SampleNanos(int64_t rows) { return SampleNanosWithMean(MeanMs(rows)); }
  // A draw from the distribution around another mean (ms), e.g. a measured
  // batch-size → latency profile's (`tide sim --profile`).
  int64_t SampleNanosWithMean(double mean_ms);

  const ServiceTimeParams& params() const { return params_; }

 private:
  ServiceTimeParams params_;
  std::mt19937_64 rng_;
};

}  // namespace tide::backends
