#include "common/clock.h"

#include <time.h>

#include <algorithm>

namespace tide::common {

absl::Time MonotonicClock::Now() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::UnixEpoch() + absl::Seconds(ts.tv_sec) + absl::Nanoseconds(ts.tv_nsec);
}

absl::Duration ThreadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return absl::Seconds(ts.tv_sec) + absl::Nanoseconds(ts.tv_nsec);
}

const MonotonicClock* MonotonicClock::Get() {
  static const MonotonicClock clock;
  return &clock;
}

void MonotonicClock::SleepUntil(absl::Time deadline) const {
  for (absl::Duration left = deadline - Now(); left > absl::ZeroDuration();
       left = deadline - Now()) {
    absl::SleepFor(left);
  }
}

bool MonotonicClock::WaitUntil(absl::Mutex* mu, const absl::Condition& cond,
                               absl::Time deadline) const {
  if (deadline == absl::InfiniteFuture()) {
    mu->Await(cond);
    return true;
  }
  // Mutex's timeouts run on the wall clock; retry until this clock agrees.
  while (true) {
    if (mu->AwaitWithTimeout(cond, deadline - Now())) return true;
    if (Now() >= deadline) return false;
  }
}

// One thread blocked in ManualClock::WaitUntil.
struct ManualClock::Waiter {
  absl::Mutex* mu;  // the waiter's; held by it except while it waits
  const absl::Condition* cond;
  absl::Time deadline;
  // Set under *mu by WakeDue, which has removed the waiter from waiters_.
  bool due = false;
};

absl::Time ManualClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void ManualClock::Advance(absl::Duration d) {
  absl::Time now;
  {
    absl::MutexLock lock(&mu_);
    now = now_ += d;
  }
  WakeDue(now);
}

void ManualClock::Set(absl::Time t) {
  {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  WakeDue(t);
}

void ManualClock::WakeDue(absl::Time now) {
  absl::MutexLock lock(&waiters_mu_);
  auto due = std::stable_partition(waiters_.begin(), waiters_.end(),
                                   [now](const Waiter* w) { return w->deadline > now; });
  std::vector<Waiter*> woken(due, waiters_.end());
  waiters_.erase(due, waiters_.end());
  for (Waiter* w : woken) {
    absl::Mutex* mu = w->mu;
    mu->Lock();
    w->due = true;
    mu->Unlock();  // `w` may be gone from here on
  }
}

void ManualClock::SleepUntil(absl::Time deadline) const {
  absl::Mutex mu;
  absl::MutexLock lock(&mu);
  static constexpr bool kNever = false;
  WaitUntil(&mu, absl::Condition(&kNever), deadline);
}

bool ManualClock::WaitUntil(absl::Mutex* mu, const absl::Condition& cond,
                            absl::Time deadline) const {
  Waiter w{mu, &cond, deadline};
  while (true) {
    if (cond.Eval()) return true;
    if (Now() >= deadline) return false;
    w.due = false;  // not in waiters_ here: only this thread touches it
    // Registered without *mu held (lock order: waiters_mu_ before a waiter's
    // mutex). Reading the time under waiters_mu_ means a concurrent Advance
    // either finds this waiter or has already moved the time we read.
    mu->Unlock();
    bool reached;
    {
      absl::MutexLock lock(&waiters_mu_);
      reached = Now() >= deadline;
      if (!reached) waiters_.push_back(&w);
    }
    mu->Lock();
    if (reached) continue;
    mu->Await(absl::Condition(
        +[](Waiter* p) { return p->due || p->cond->Eval(); }, &w));
    if (w.due) continue;  // WakeDue has removed it
    // `cond` holds: leave the list (unless WakeDue took it meanwhile), then
    // check again, as *mu was released.
    mu->Unlock();
    {
      absl::MutexLock lock(&waiters_mu_);
      auto it = std::find(waiters_.begin(), waiters_.end(), &w);
      if (it != waiters_.end()) waiters_.erase(it);
    }
    mu->Lock();
  }
}

int ManualClock::Waiters() const {
  absl::MutexLock lock(&waiters_mu_);
  return static_cast<int>(waiters_.size());
}

bool ManualClock::AwaitWaiters(int n, absl::Duration timeout) const {
  absl::MutexLock lock(&waiters_mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(waiters_mu_) {
    return static_cast<int>(waiters_.size()) >= n;
  };
  return waiters_mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

}  // namespace tide::common
