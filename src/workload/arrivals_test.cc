#include "workload/arrivals.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace tide::workload {
namespace {

std::vector<int64_t> Take(ArrivalProcess& p, int n) {
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(absl::ToInt64Nanoseconds(*p.Next()));
  return out;
}

TEST(ConstantArrivals, ExactSpacingWithoutDrift) {
  ConstantArrivals a(3.0);  // 333,333,333.33 ns apart
  std::vector<int64_t> t = Take(a, 301);
  EXPECT_EQ(t[0], 0);
  EXPECT_EQ(t[1], 333333333);
  EXPECT_EQ(t[2], 666666667);
  EXPECT_EQ(t[300], 100000000000);  // exactly 100 s: no accumulated rounding
}

TEST(ConstantArrivals, CountInWindowIsExact) {
  ConstantArrivals a(200.0);
  int n = 0;
  while (*a.Next() < absl::Seconds(5)) ++n;
  EXPECT_EQ(n, 1000);
}

TEST(PoissonArrivals, SeededAndReproducible) {
  PoissonArrivals a(100.0, 7), b(100.0, 7), c(100.0, 8);
  std::vector<int64_t> ta = Take(a, 1000), tb = Take(b, 1000), tc = Take(c, 1000);
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
  auto clone = a.Clone();
  EXPECT_EQ(Take(*clone, 1000), ta);
}

TEST(PoissonArrivals, MeanAndVarianceOfGapsMatchRate) {
  const double rate = 250.0;
  PoissonArrivals a(rate, 1);
  const int n = 200000;
  double prev = 0, sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    double t = absl::ToDoubleSeconds(*a.Next());
    double gap = t - prev;
    prev = t;
    sum += gap;
    sum_sq += gap * gap;
  }
  const double mean = sum / n;
  const double var = sum_sq / n - mean * mean;
  // Exponential: mean 1/rate, variance 1/rate^2. 200k samples: std error of
  // the mean is 0.22 %; 1 % is > 4 sigma.
  EXPECT_NEAR(mean, 1 / rate, 0.01 / rate);
  EXPECT_NEAR(var, 1 / (rate * rate), 0.03 / (rate * rate));
}

TEST(PoissonArrivals, CountsPerSecondHaveUnitDispersion) {
  PoissonArrivals a(50.0, 3);
  std::vector<int> counts(2000, 0);
  while (true) {
    double t = absl::ToDoubleSeconds(*a.Next());
    if (t >= counts.size()) break;
    ++counts[static_cast<size_t>(t)];
  }
  double mean = 0, var = 0;
  for (int c : counts) mean += c;
  mean /= counts.size();
  for (int c : counts) var += (c - mean) * (c - mean);
  var /= counts.size() - 1;
  EXPECT_NEAR(mean, 50.0, 0.5);
  EXPECT_NEAR(var / mean, 1.0, 0.1);  // Poisson: variance = mean
}

TEST(ListArrivals, YieldsListThenEnds) {
  auto list = std::make_shared<const std::vector<absl::Duration>>(
      std::vector<absl::Duration>{absl::ZeroDuration(), absl::Milliseconds(5), absl::Seconds(1)});
  ListArrivals a(list);
  EXPECT_EQ(*a.Next(), absl::ZeroDuration());
  EXPECT_EQ(*a.Next(), absl::Milliseconds(5));
  EXPECT_EQ(*a.Next(), absl::Seconds(1));
  EXPECT_FALSE(a.Next().has_value());
  EXPECT_EQ(*a.Clone()->Next(), absl::ZeroDuration());
}

TEST(MakeArrivals, ValidatesKindAndRate) {
  EXPECT_TRUE(MakeArrivals("poisson", 10, 1).ok());
  EXPECT_TRUE(MakeArrivals("constant", 10, 1).ok());
  EXPECT_EQ(MakeArrivals("uniform", 10, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeArrivals("poisson", 0, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeArrivals("poisson", -3, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

// Counts of a shaped process in [from, to) seconds.
int64_t CountIn(ArrivalProcess* a, double from, double to) {
  int64_t n = 0;
  while (true) {
    double t = absl::ToDoubleSeconds(*a->Next());
    if (t >= to) return n;
    if (t >= from) ++n;
  }
}

TEST(ShapedArrivals, StepSpikeAndRampFollowTheirRates) {
  ShapeParams p;
  p.rate = 100;
  p.peak_rate = 400;
  p.at_s = 100;
  p.length_s = 100;
  auto step = MakeShapedArrivals("step", p, 1);
  ASSERT_TRUE(step.ok());
  EXPECT_NEAR(CountIn(step->get(), 0, 100), 10000, 400);
  EXPECT_NEAR(CountIn(step->get(), 100, 200), 40000, 800);  // continues where it stopped
  auto spike = MakeShapedArrivals("spike", p, 1);
  EXPECT_NEAR(CountIn(spike->get(), 100, 200), 40000, 800);
  EXPECT_NEAR(CountIn(spike->get(), 200, 300), 10000, 400);
  auto ramp = MakeShapedArrivals("ramp", p, 1);
  EXPECT_NEAR(CountIn(ramp->get(), 100, 200), 25000, 600);  // mean of 100..400
  EXPECT_DOUBLE_EQ(static_cast<ShapedArrivals*>(ramp->get())->RateAt(150), 250);
}

TEST(ShapedArrivals, MmppMeanRateWeighsTheStatesByTheirStays) {
  ShapeParams p;
  p.rate = 10;
  p.peak_rate = 100;
  p.mmpp_low_s = 30;
  p.mmpp_high_s = 10;
  auto a = MakeShapedArrivals("mmpp", p, 3);
  ASSERT_TRUE(a.ok());
  // (10 x 30 + 100 x 10) / 40 = 32.5 per second.
  EXPECT_NEAR(static_cast<double>(CountIn(a->get(), 0, 100000)) / 100000, 32.5, 0.8);
}

TEST(ShapedArrivals, CloneRepeatsTheSequenceAndBadParametersAreNamed) {
  ShapeParams p;
  p.rate = 50;
  p.peak_rate = 80;
  p.period_s = 600;
  auto a = MakeShapedArrivals("diurnal", p, 9);
  ASSERT_TRUE(a.ok());
  auto b = (*a)->Clone();
  for (int i = 0; i < 1000; ++i) EXPECT_EQ((*a)->Next(), b->Next());
  p.peak_rate = 120;
  EXPECT_EQ(MakeShapedArrivals("diurnal", p, 1).status().message(),
            "diurnal: the peak rate (120) must be <= 2 x the mean rate (50)");
  EXPECT_EQ(MakeShapedArrivals("square", p, 1).status().message(),
            "unknown arrival shape 'square' (step, spike, ramp, diurnal or mmpp)");
  p.peak_rate = 0;
  EXPECT_EQ(MakeShapedArrivals("step", p, 1).status().message(), "peak rate must be > 0, got 0");
}

}  // namespace
}  // namespace tide::workload
