#pragma once

// Time is injected (docs/design.md, coding habit 4). Decision code takes `now` as an
// argument; loops that must wait take a Clock so tests can drive them without
// sleeping.

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tide::common {

// A source of time, and waits measured on it. Implementations are thread-safe.
// A loop that waits through its Clock (never absl::SleepFor or a Mutex timeout
// directly) can be driven by a ManualClock in tests, without sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic: never goes backwards. Only differences are meaningful.
  virtual absl::Time Now() const = 0;

  // Blocks the calling thread until Now() >= deadline (returns at once if it
  // already is).
  virtual void SleepUntil(absl::Time deadline) const = 0;

  // Called with *mu held; returns with *mu held. Waits until `cond` holds or
  // Now() >= deadline, and returns whether `cond` holds, as Mutex::Await does
  // (like Await, it may release *mu while waiting). absl::InfiniteFuture()
  // waits for `cond` alone.
  virtual bool WaitUntil(absl::Mutex* mu, const absl::Condition& cond, absl::Time deadline) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;
};

// The process's monotonic clock (CLOCK_MONOTONIC, not wall time). Its waits
// are measured on CLOCK_MONOTONIC too: a deadline is turned into a timeout
// from Now() (absl's own deadlines are wall-clock times).
class MonotonicClock final : public Clock {
 public:
  absl::Time Now() const override;
  void SleepUntil(absl::Time deadline) const override;
  bool WaitUntil(absl::Mutex* mu, const absl::Condition& cond, absl::Time deadline) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) override;
  // A process-wide instance; the clock has no state.
  static const MonotonicClock* Get();
};

// A clock that moves only when told to. For tests and simulations.
//
// Its waits block until Advance() or Set() moves the time to their deadline
// (or, for WaitUntil, until the condition holds). Before they return,
// Advance/Set release every waiter whose deadline has been reached, and no
// other; a released waiter no longer counts in Waiters(). A test drives a
// loop by waiting for it to block (AwaitWaiters), then moving the time.
// Advance/Set must not be called with a mutex held that a waiter passed to
// WaitUntil (they lock it to wake the waiter).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}
  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

  void SleepUntil(absl::Time deadline) const override;
  bool WaitUntil(absl::Mutex* mu, const absl::Condition& cond, absl::Time deadline) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) override;

  // Threads now blocked in SleepUntil/WaitUntil and not yet released.
  int Waiters() const;
  // Blocks until at least `n` threads are blocked in SleepUntil/WaitUntil;
  // false if that took longer than `timeout` of real time (a test's bound,
  // so that a loop that never waits fails the test instead of hanging it).
  bool AwaitWaiters(int n, absl::Duration timeout) const;

 private:
  struct Waiter;
  // Wakes the waiters whose deadline is <= now.
  void WakeDue(absl::Time now);

  // Lock order: waiters_mu_, then a waiter's mutex, then mu_ (a leaf: the
  // clock's time may be read with any mutex held).
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex waiters_mu_;
  mutable std::vector<Waiter*> waiters_ ABSL_GUARDED_BY(waiters_mu_);
};

// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID). A system call,
// with no vDSO path: for measurements, not per-request hot paths.
absl::Duration ThreadCpuTime();

}  // namespace tide::common
