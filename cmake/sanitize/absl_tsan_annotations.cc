// TSan builds only (-DTIDE_SANITIZE=thread; cmake/TideHelpers.cmake links this
// into every target). Debian's Abseil is not built with TSan, so TSan cannot
// see absl::Mutex, absl::CondVar or absl::Notification synchronize: every
// access to data guarded by an absl::Mutex would be reported as a race. This
// file interposes their entry points (the executable's definitions take
// precedence over libabsl_synchronization.so's), calls the library's own
// through dlsym(RTLD_NEXT), and tells TSan what happened: a release before
// the lock is given up (Unlock, Await, CondVar::Wait) and an acquire once it
// is held again, on the mutex's address. That is the happens-before a mutex
// gives; TSan's deadlock detection does not see these mutexes.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {

template <typename Fn>
Fn Next(const char* mangled) {
  void* f = dlsym(RTLD_NEXT, mangled);
  if (f == nullptr) {
    std::fprintf(stderr, "absl_tsan_annotations: %s not found: %s\n", mangled, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(f);
}

#define ABSL_NEXT(type, mangled)                \
  static const auto next = Next<type>(mangled); \
  (void)0

// The name mangling of Debian's Abseil 20220623 (inline namespace debian3).
#define M(x) "_ZN4absl7debian3" x
#define MK(x) "_ZNK4absl7debian3" x

void* Key(const absl::Mutex* mu) { return const_cast<absl::Mutex*>(mu); }

// Notification's flag: the atomic<bool> after its mutex, which the inline
// HasBeenNotified() reads with an acquire load in tide's (instrumented) code.
void* FlagKey(const absl::Notification* n) {
  static_assert(sizeof(absl::Mutex) == sizeof(void*));
  static_assert(sizeof(absl::Notification) == 2 * sizeof(void*));
  return const_cast<char*>(reinterpret_cast<const char*>(n) + sizeof(absl::Mutex));
}

// A condition is evaluated with the mutex held, but inside Abseil (by the
// waiter, or by the thread that unlocks), between the annotations above:
// evaluate it between an acquire and a release of its own.
struct Guarded {
  const absl::Condition* cond;
  absl::Mutex* mu;
};

bool EvalGuarded(void* arg) {
  auto* g = static_cast<Guarded*>(arg);
  __tsan_acquire(Key(g->mu));
  bool result = g->cond->Eval();
  __tsan_release(Key(g->mu));
  return result;
}

}  // namespace

namespace absl {
inline namespace debian3 {

void Mutex::Lock() {
  ABSL_NEXT(void (*)(Mutex*), M("5Mutex4LockEv"));
  next(this);
  __tsan_acquire(Key(this));
}

void Mutex::ReaderLock() {
  ABSL_NEXT(void (*)(Mutex*), M("5Mutex10ReaderLockEv"));
  next(this);
  __tsan_acquire(Key(this));
}

bool Mutex::TryLock() {
  ABSL_NEXT(bool (*)(Mutex*), M("5Mutex7TryLockEv"));
  bool held = next(this);
  if (held) __tsan_acquire(Key(this));
  return held;
}

bool Mutex::ReaderTryLock() {
  ABSL_NEXT(bool (*)(Mutex*), M("5Mutex13ReaderTryLockEv"));
  bool held = next(this);
  if (held) __tsan_acquire(Key(this));
  return held;
}

void Mutex::Unlock() {
  ABSL_NEXT(void (*)(Mutex*), M("5Mutex6UnlockEv"));
  __tsan_release(Key(this));
  next(this);
}

void Mutex::ReaderUnlock() {
  ABSL_NEXT(void (*)(Mutex*), M("5Mutex12ReaderUnlockEv"));
  __tsan_release(Key(this));
  next(this);
}

void Mutex::LockWhen(const Condition& cond) {
  ABSL_NEXT(void (*)(Mutex*, const Condition&), M("5Mutex8LockWhenERKNS0_9ConditionE"));
  Guarded g{&cond, this};
  next(this, Condition(EvalGuarded, &g));
  __tsan_acquire(Key(this));
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  ABSL_NEXT(void (*)(Mutex*, const Condition&), M("5Mutex14ReaderLockWhenERKNS0_9ConditionE"));
  Guarded g{&cond, this};
  next(this, Condition(EvalGuarded, &g));
  __tsan_acquire(Key(this));
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  ABSL_NEXT(bool (*)(Mutex*, const Condition&, absl::Duration),
            M("5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE"));
  Guarded g{&cond, this};
  bool ok = next(this, Condition(EvalGuarded, &g), timeout);
  __tsan_acquire(Key(this));  // held either way
  return ok;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  ABSL_NEXT(bool (*)(Mutex*, const Condition&, absl::Time),
            M("5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE"));
  Guarded g{&cond, this};
  bool ok = next(this, Condition(EvalGuarded, &g), deadline);
  __tsan_acquire(Key(this));
  return ok;
}

void Mutex::Await(const Condition& cond) {
  ABSL_NEXT(void (*)(Mutex*, const Condition&), M("5Mutex5AwaitERKNS0_9ConditionE"));
  __tsan_release(Key(this));
  Guarded g{&cond, this};
  next(this, Condition(EvalGuarded, &g));
  __tsan_acquire(Key(this));
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  ABSL_NEXT(bool (*)(Mutex*, const Condition&, absl::Duration),
            M("5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE"));
  __tsan_release(Key(this));
  Guarded g{&cond, this};
  bool ok = next(this, Condition(EvalGuarded, &g), timeout);
  __tsan_acquire(Key(this));
  return ok;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  ABSL_NEXT(bool (*)(Mutex*, const Condition&, absl::Time),
            M("5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE"));
  __tsan_release(Key(this));
  Guarded g{&cond, this};
  bool ok = next(this, Condition(EvalGuarded, &g), deadline);
  __tsan_acquire(Key(this));
  return ok;
}

void CondVar::Wait(Mutex* mu) {
  ABSL_NEXT(void (*)(CondVar*, Mutex*), M("7CondVar4WaitEPNS0_5MutexE"));
  __tsan_release(Key(mu));
  next(this, mu);
  __tsan_acquire(Key(mu));
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  ABSL_NEXT(bool (*)(CondVar*, Mutex*, absl::Duration),
            M("7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE"));
  __tsan_release(Key(mu));
  bool timed_out = next(this, mu, timeout);
  __tsan_acquire(Key(mu));
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  ABSL_NEXT(bool (*)(CondVar*, Mutex*, absl::Time),
            M("7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE"));
  __tsan_release(Key(mu));
  bool timed_out = next(this, mu, deadline);
  __tsan_acquire(Key(mu));
  return timed_out;
}

void Notification::Notify() {
  ABSL_NEXT(void (*)(Notification*), M("12Notification6NotifyEv"));
  __tsan_release(FlagKey(this));
  next(this);
}

void Notification::WaitForNotification() const {
  ABSL_NEXT(void (*)(const Notification*), MK("12Notification19WaitForNotificationEv"));
  next(this);
  __tsan_acquire(FlagKey(this));
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  ABSL_NEXT(bool (*)(const Notification*, absl::Duration),
            MK("12Notification30WaitForNotificationWithTimeoutENS0_8DurationE"));
  bool notified = next(this, timeout);
  if (notified) __tsan_acquire(FlagKey(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  ABSL_NEXT(bool (*)(const Notification*, absl::Time),
            MK("12Notification31WaitForNotificationWithDeadlineENS0_4TimeE"));
  bool notified = next(this, deadline);
  if (notified) __tsan_acquire(FlagKey(this));
  return notified;
}

}  // namespace debian3
}  // namespace absl
