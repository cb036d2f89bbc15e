#include "backends/simulated/service_time.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace tide::backends {
namespace {

TEST(ServiceTimeModel, FixedIsTheMeanInWholeMicroseconds) {
  ServiceTimeModel m({.compute_ms = 10, .per_item_ms = 40}, 1);
  EXPECT_EQ(m.Sample(1), absl::Milliseconds(50));
  EXPECT_EQ(m.Sample(8), absl::Milliseconds(330));
  EXPECT_EQ(m.SampleNanos(2), 90'000'000);
  ServiceTimeModel frac({.compute_ms = 0.0015, .per_item_ms = 0}, 1);
  EXPECT_EQ(frac.SampleNanos(1), 1000);  // 1.5 us truncated to 1 us
}

TEST(ServiceTimeModel, ExponentialDrawsTheSameSequenceAsTheStandardDistribution) {
  ServiceTimeModel m(
      {.compute_ms = 5, .per_item_ms = 1, .distribution = ServiceTimeDistribution::kExponential},
      7);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    double ms = std::exponential_distribution<double>(1.0 / 7.0)(rng);
    EXPECT_EQ(m.Sample(2), absl::Microseconds(static_cast<int64_t>(ms * 1000.0)));
  }
}

TEST(ServiceTimeModel, LognormalKeepsTheMean) {
  ServiceTimeModel m({.compute_ms = 20,
                      .per_item_ms = 0,
                      .distribution = ServiceTimeDistribution::kLognormal,
                      .jitter = 0.5},
                     3);
  std::mt19937_64 rng(3);
  double first = std::lognormal_distribution<double>(std::log(20.0) - 0.125, 0.5)(rng);
  EXPECT_EQ(m.Sample(1), absl::Microseconds(static_cast<int64_t>(first * 1000.0)));
  double sum = 0;
  for (int i = 0; i < 200000; ++i) sum += absl::ToDoubleMilliseconds(m.Sample(1));
  EXPECT_NEAR(sum / 200000, 20.0, 0.1);
}

TEST(ServiceTimeModel, ZeroMeanIsZeroForEveryDistribution) {
  for (auto d : {ServiceTimeDistribution::kFixed, ServiceTimeDistribution::kExponential,
                 ServiceTimeDistribution::kLognormal}) {
    ServiceTimeModel m({.compute_ms = 0, .per_item_ms = 0, .distribution = d}, 1);
    EXPECT_EQ(m.SampleNanos(4), 0);
  }
}

}  // namespace
}  // namespace tide::backends
