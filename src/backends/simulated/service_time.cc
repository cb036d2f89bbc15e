#include "backends/simulated/service_time.h"

#include <cmath>

namespace tide::backends {

int64_t ServiceTimeModel::SampleNanosWithMean(double mean) {
  double ms = mean;
  switch (params_.distribution) {
    case ServiceTimeDistribution::kFixed:
      break;
    case ServiceTimeDistribution::kExponential:
      ms = mean > 0 ? std::exponential_distribution<double>(1.0 / mean)(rng_) : 0;
      break;
    case ServiceTimeDistribution::kLognormal: {
      double sigma = params_.jitter;
      ms = mean > 0 ? std::lognormal_distribution<double>(std::log(mean) - sigma * sigma / 2,
                                                          sigma)(rng_)
                    : 0;
      break;
    }
  }
  return static_cast<int64_t>(ms * 1000.0) * 1000;
}

absl::Duration ServiceTimeModel::Sample(int64_t rows) {
  return absl::Nanoseconds(SampleNanos(rows));
}

}  // namespace tide::backends
