#include "common/clock.h"

#include "gtest/gtest.h"

namespace tide::common {
namespace {

TEST(ManualClock, MovesOnlyWhenTold) {
  ManualClock clock(absl::FromUnixSeconds(100));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(100));
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(101500));
  clock.Set(absl::FromUnixSeconds(7));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(7));
}

TEST(MonotonicClock, NeverGoesBackwards) {
  const Clock* clock = MonotonicClock::Get();
  absl::Time prev = clock->Now();
  for (int i = 0; i < 1000; ++i) {
    absl::Time t = clock->Now();
    ASSERT_GE(t, prev);
    prev = t;
  }
}

}  // namespace
}  // namespace tide::common
