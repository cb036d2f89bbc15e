#include "backends/simulated/busy_tracker.h"

#include "gtest/gtest.h"

namespace tide::backends {
namespace {

absl::Time At(int64_t ms) { return absl::UnixEpoch() + absl::Milliseconds(ms); }

TEST(BusyTracker, FractionOfTheWindowCoveredByBatches) {
  BusyTracker t(absl::Seconds(1), At(0));
  EXPECT_EQ(t.Fraction(At(0)), 0);
  // Batches 100-300 and 500-600 ms: 300 ms busy.
  t.Begin(At(100));
  t.End(At(300));
  t.Begin(At(500));
  t.End(At(600));
  EXPECT_DOUBLE_EQ(t.Fraction(At(1000)), 0.3);
  // Before a full window has passed, the share of the time since creation.
  EXPECT_DOUBLE_EQ(t.Fraction(At(400)), 0.5);
  // A running batch counts up to now: 700-1200 → 400+... window 200..1200:
  // 200-300 (100) + 500-600 (100) + 700-1200 (500).
  t.Begin(At(700));
  EXPECT_DOUBLE_EQ(t.Fraction(At(1200)), 0.7);
  t.End(At(1300));
  // Window 1300..2300 holds nothing; 600..1600 holds 700-1300.
  EXPECT_DOUBLE_EQ(t.Fraction(At(2300)), 0);
  EXPECT_DOUBLE_EQ(t.Fraction(At(1600)), 0.6);
  EXPECT_EQ(t.BusyTotal(At(5000)), absl::Milliseconds(200 + 100 + 600));
}

TEST(BusyTracker, AlwaysBusyIsOneAndRepeatedCallsAreIgnored) {
  BusyTracker t(absl::Milliseconds(500), At(0));
  t.Begin(At(0));
  t.Begin(At(100));  // ignored: already busy
  EXPECT_DOUBLE_EQ(t.Fraction(At(2000)), 1.0);
  t.End(At(2000));
  t.End(At(2100));  // ignored: not busy
  EXPECT_EQ(t.BusyTotal(At(3000)), absl::Seconds(2));
  EXPECT_DOUBLE_EQ(t.Fraction(At(2250)), 0.5);
}

}  // namespace
}  // namespace tide::backends
