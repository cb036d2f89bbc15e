#include "common/clock.h"

#include <thread>

#include "absl/synchronization/notification.h"
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

// How long a test waits for something that must NOT happen: long enough that a
// wrongly woken thread would be seen, short enough to keep the suite fast.
constexpr absl::Duration kQuiet = absl::Milliseconds(50);
// A bound on waits for something that must happen (fails instead of hanging).
constexpr absl::Duration kSoon = absl::Seconds(10);

TEST(ManualClock, SleepUntilWakesExactlyAtTheDeadline) {
  ManualClock clock(absl::FromUnixSeconds(100));
  absl::Notification woke;
  absl::Time woke_at;
  std::thread sleeper([&] {
    clock.SleepUntil(absl::FromUnixSeconds(110));
    woke_at = clock.Now();
    woke.Notify();
  });
  EXPECT_TRUE(clock.AwaitWaiters(1, kSoon));
  clock.Advance(absl::Seconds(10) - absl::Nanoseconds(1));
  EXPECT_EQ(clock.Waiters(), 1);
  EXPECT_FALSE(woke.WaitForNotificationWithTimeout(kQuiet));
  clock.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(clock.Waiters(), 0);  // Advance has woken it before returning
  ASSERT_TRUE(woke.WaitForNotificationWithTimeout(kSoon));
  sleeper.join();
  EXPECT_EQ(woke_at, absl::FromUnixSeconds(110));
}

TEST(ManualClock, SleepUntilAPassedDeadlineReturnsAtOnce) {
  ManualClock clock(absl::FromUnixSeconds(100));
  clock.SleepUntil(absl::FromUnixSeconds(100));
  clock.SleepUntil(absl::FromUnixSeconds(50));
  EXPECT_EQ(clock.Waiters(), 0);
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(100));
}

TEST(ManualClock, AdvanceWakesOnlyTheDueWaitersInAnyOrderOfDeadlines) {
  ManualClock clock(absl::FromUnixSeconds(0));
  absl::Notification woke_late, woke_early;
  std::thread late([&] {
    clock.SleepUntil(absl::FromUnixSeconds(20));
    woke_late.Notify();
  });
  EXPECT_TRUE(clock.AwaitWaiters(1, kSoon));
  std::thread early([&] {
    clock.SleepUntil(absl::FromUnixSeconds(5));
    woke_early.Notify();
  });
  EXPECT_TRUE(clock.AwaitWaiters(2, kSoon));
  clock.Advance(absl::Seconds(5));
  ASSERT_TRUE(woke_early.WaitForNotificationWithTimeout(kSoon));
  early.join();
  EXPECT_EQ(clock.Waiters(), 1);
  EXPECT_FALSE(woke_late.HasBeenNotified());
  clock.Set(absl::FromUnixSeconds(19));
  EXPECT_EQ(clock.Waiters(), 1);
  EXPECT_FALSE(woke_late.WaitForNotificationWithTimeout(kQuiet));
  clock.Set(absl::FromUnixSeconds(30));  // Set past the deadline wakes too
  ASSERT_TRUE(woke_late.WaitForNotificationWithTimeout(kSoon));
  late.join();
  EXPECT_EQ(clock.Waiters(), 0);
}

TEST(ManualClock, WaitUntilReturnsTrueWhenTheConditionIsSignalledBeforeTheDeadline) {
  ManualClock clock(absl::FromUnixSeconds(100));
  absl::Mutex mu;
  bool ready = false;
  bool result = false;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    result = clock.WaitUntil(&mu, absl::Condition(&ready), absl::FromUnixSeconds(105));
    EXPECT_TRUE(ready);  // returns with the mutex held and the condition true
  });
  EXPECT_TRUE(clock.AwaitWaiters(1, kSoon));
  clock.Advance(absl::Seconds(4));  // not yet the deadline
  {
    absl::MutexLock lock(&mu);
    ready = true;
  }
  waiter.join();
  EXPECT_TRUE(result);
  EXPECT_EQ(clock.Waiters(), 0);
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(104));
}

TEST(ManualClock, WaitUntilReturnsFalseWhenTheClockPassesTheDeadline) {
  ManualClock clock(absl::FromUnixSeconds(100));
  absl::Mutex mu;
  bool ready = false;
  absl::Notification returned;
  bool result = true;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    result = clock.WaitUntil(&mu, absl::Condition(&ready), absl::FromUnixSeconds(105));
    returned.Notify();
  });
  EXPECT_TRUE(clock.AwaitWaiters(1, kSoon));
  clock.Advance(absl::Seconds(4));
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(kQuiet));
  clock.Advance(absl::Seconds(2));  // past the deadline
  ASSERT_TRUE(returned.WaitForNotificationWithTimeout(kSoon));
  waiter.join();
  EXPECT_FALSE(result);
  EXPECT_EQ(clock.Waiters(), 0);
}

TEST(ManualClock, WaitUntilChecksTheConditionThenTheDeadlineWithoutBlocking) {
  ManualClock clock(absl::FromUnixSeconds(100));
  absl::Mutex mu;
  absl::MutexLock lock(&mu);
  bool ready = true;
  EXPECT_TRUE(clock.WaitUntil(&mu, absl::Condition(&ready), absl::FromUnixSeconds(50)));
  ready = false;
  EXPECT_FALSE(clock.WaitUntil(&mu, absl::Condition(&ready), absl::FromUnixSeconds(100)));
  EXPECT_EQ(clock.Waiters(), 0);
}

TEST(MonotonicClock, WaitUntilTimesOutOnThisClock) {
  const Clock* clock = MonotonicClock::Get();
  absl::Mutex mu;
  absl::MutexLock lock(&mu);
  bool ready = false;
  absl::Time deadline = clock->Now() + absl::Milliseconds(2);
  EXPECT_FALSE(clock->WaitUntil(&mu, absl::Condition(&ready), deadline));
  EXPECT_GE(clock->Now(), deadline);
  ready = true;
  EXPECT_TRUE(clock->WaitUntil(&mu, absl::Condition(&ready), absl::InfiniteFuture()));
}

TEST(MonotonicClock, SleepUntilReachesTheDeadline) {
  const Clock* clock = MonotonicClock::Get();
  absl::Time deadline = clock->Now() + absl::Milliseconds(2);
  clock->SleepUntil(deadline);
  EXPECT_GE(clock->Now(), deadline);
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
