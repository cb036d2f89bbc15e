#include "workload/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace tide::workload {
namespace {

// The exact value at quantile q: the smallest v with ceil(q*n) values <= v.
int64_t ExactPercentile(std::vector<int64_t> sorted, double q) {
  size_t rank = static_cast<size_t>(std::ceil(q * sorted.size()));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

TEST(Histogram, EmptyReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.Count(), 0u);
  EXPECT_EQ(h.Percentile(0.99), 0);
  EXPECT_EQ(h.Max(), 0);
  EXPECT_EQ(h.Mean(), 0.0);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (int64_t v = 0; v < 2048; ++v) h.Record(v);
  EXPECT_EQ(h.Count(), 2048u);
  EXPECT_EQ(h.Percentile(0.5), 1023);
  EXPECT_EQ(h.Percentile(1.0), 2047);
  EXPECT_EQ(h.Percentile(0.0), 0);
  EXPECT_EQ(h.Min(), 0);
  EXPECT_DOUBLE_EQ(h.Mean(), 1023.5);
}

TEST(Histogram, PercentilesWithinRelativeErrorBound) {
  // Log-uniform from 1 µs to 100 s in nanoseconds: every bucket scale.
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exp10(3.0, 11.0);
  std::vector<int64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    int64_t v = static_cast<int64_t>(std::pow(10.0, exp10(rng)));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  EXPECT_LE(h.RelativeError(), 0.001);
  for (double q : {0.0, 0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0}) {
    const double exact = static_cast<double>(ExactPercentile(values, q));
    const double got = static_cast<double>(h.Percentile(q));
    EXPECT_LE(std::abs(got - exact) / exact, h.RelativeError()) << "q=" << q;
  }
  EXPECT_EQ(h.Max(), values.back());
  EXPECT_EQ(h.Min(), values.front());
}

TEST(Histogram, PercentileRankIsCeilOfQTimesCount) {
  Histogram h;
  for (int64_t v : {10, 20, 30, 40}) h.Record(v);
  EXPECT_EQ(h.Percentile(0.25), 10);
  EXPECT_EQ(h.Percentile(0.26), 20);
  EXPECT_EQ(h.Percentile(0.75), 30);
  EXPECT_EQ(h.Percentile(0.99), 40);
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (int64_t v = 1; v < 100000; v += 7) {
    (v % 2 ? a : b).Record(v * 1000);
    all.Record(v * 1000);
  }
  a.Merge(b);
  EXPECT_EQ(a.Count(), all.Count());
  for (double q : {0.5, 0.9, 0.99}) EXPECT_EQ(a.Percentile(q), all.Percentile(q));
  EXPECT_EQ(a.Max(), all.Max());
  EXPECT_DOUBLE_EQ(a.Mean(), all.Mean());
}

TEST(Histogram, HugeValuesLandInTopBucketWithExactMax) {
  Histogram h;
  h.Record(Histogram::kMaxValue * 4);
  h.Record(-5);  // clamped to 0
  EXPECT_EQ(h.Count(), 2u);
  EXPECT_EQ(h.Max(), Histogram::kMaxValue * 4);
  EXPECT_EQ(h.Min(), 0);
}

TEST(Histogram, SparseRoundTripKeepsPercentilesWithinCoarseError) {
  Histogram coarse(7);
  for (int64_t v = 1000; v < 1000000; v += 997) coarse.Record(v);
  Histogram copy(7);
  copy.AddBuckets(coarse.NonZero());
  EXPECT_EQ(copy.Count(), coarse.Count());
  EXPECT_EQ(copy.Percentile(0.5), coarse.Percentile(0.5));
  const double p99 = static_cast<double>(coarse.Percentile(0.99));
  EXPECT_NEAR(static_cast<double>(copy.Percentile(0.99)), p99, p99 * coarse.RelativeError());
}

}  // namespace
}  // namespace tide::workload
