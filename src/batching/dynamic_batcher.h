#pragma once

// A model's scheduler: a bounded FIFO queue and one worker thread per model
// instance. Each free worker asks the pure BatchPolicy what to run, takes
// that prefix of the queue, executes it on its instance and completes every
// request exactly once (including requests whose deadline passed while
// queued: DeadlineExceeded, and requests whose client has gone by the time
// they reach the head of the queue: Cancelled; neither runs).
//
// A reaper thread answers requests whose deadline passes while every
// instance is busy, at their deadline rather than when an instance frees up.
//
// Thread-safe. Shutdown() stops accepting, runs everything queued (without
// waiting for batching delays), then joins the workers.

#include <atomic>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "batching/batch_policy.h"
#include "common/clock.h"
#include "core/model_config.h"
#include "core/model_instance.h"
#include "core/observer.h"
#include "core/scheduler.h"

namespace tide::batching {

class DynamicBatcher final : public core::Scheduler {
 public:
  struct Options {
    core::ModelSpec spec;  // for the policy and to shape responses
    size_t max_queue_size = 1024;
    std::vector<std::unique_ptr<core::ModelInstance>> instances;  // one worker each
    std::shared_ptr<core::RequestObserver> observer;              // may be null
    const common::Clock* clock = common::MonotonicClock::Get();
    // How long an idle worker polls the queue before it sleeps. Spinning
    // keeps the worker's core out of idle states, so a request arriving
    // within the window starts at once on hot caches instead of paying a
    // wake-up and cold weights (measured: mlp's batch-1 forward() takes
    // 230 us back to back and ~360 us after 300 us asleep). The time spun is
    // CPU time, so a worker spins only while the idle gaps it saw lately
    // (a moving average) were no longer than this: back-to-back traffic gets
    // the spin, sparse or Poisson traffic does not pay for it.
    absl::Duration idle_spin = absl::ZeroDuration();
    // Inline execution, for a model without dynamic batching (one request
    // per execution, so nothing is lost by not queueing): a request that
    // finds the queue empty and an instance idle runs at once on the thread
    // that enqueues it (the HTTP I/O thread, gRPC's), with no hand-off to a
    // worker: no wake-up, no context switch, its memory freed where it was
    // allocated. Only while the model's executions have lately taken no
    // longer than this on average (a moving average over the last ~8, after
    // the first 8 ran on the workers), so a slow model never holds up the
    // caller's other connections; and only for a request whose inputs are at
    // most twice the average size of those executions (a larger one may take
    // longer). Zero: never.
    absl::Duration inline_max_execute = absl::ZeroDuration();
  };

  static absl::StatusOr<std::unique_ptr<DynamicBatcher>> Create(Options options);
  ~DynamicBatcher() override;

  absl::Status Enqueue(std::unique_ptr<core::PendingRequest> request) override;
  void Shutdown() override;
  int64_t QueueDepth() const override;

  static BatchPolicyConfig PolicyFor(const core::ModelSpec& spec);

 private:
  explicit DynamicBatcher(Options options);
  void WorkerLoop(size_t index);
  // Runs `request` on the calling thread if the rules for inline execution
  // (Options::inline_max_execute) allow it now; false (request untouched)
  // if not.
  bool TryRunInline(std::unique_ptr<core::PendingRequest>& request);
  bool InlineEligible(const core::PendingRequest& request, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordExecution(absl::Duration took, int64_t input_bytes);
  // The instance's batch has executed: nobody holds it now.
  void ReleaseInstance(size_t index) ABSL_LOCKS_EXCLUDED(mu_);
  // Answers requests whose deadline passes while every instance is busy.
  void ReaperLoop();
  // Moves requests past their deadline into `expired`; returns the earliest
  // deadline left in the queue.
  absl::Time TakeExpired(absl::Time now,
                         std::vector<std::unique_ptr<core::PendingRequest>>* expired)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves requests among the first `head` whose client has gone
  // (InferRequest::cancelled) into `cancelled`.
  void TakeCancelled(size_t head, std::vector<std::unique_ptr<core::PendingRequest>>* cancelled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits (mu_ held) until a request is pushed, shutdown starts, or `until`
  // (on the injected clock, whose `now` the caller read) passes; may return
  // early (the caller looks again).
  void AwaitPushUntil(absl::Time until, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Polls (mu_ not held) for up to options_.idle_spin for a push after
  // generation `seen`, or shutdown.
  void SpinForPush(uint64_t seen) ABSL_LOCKS_EXCLUDED(mu_);
  // Answers requests taken without running: DeadlineExceeded if their
  // deadline has passed, else Cancelled.
  void AnswerExpired(std::vector<std::unique_ptr<core::PendingRequest>> expired);
  // Executes `batch` on instance `index` (held by the caller), releases the
  // instance, then answers every request.
  void RunBatch(size_t index, std::vector<std::unique_ptr<core::PendingRequest>> batch);

  // Executions that run on the workers before any may run inline.
  static constexpr int64_t kInlineWarmUpExecutions = 8;

  Options options_;
  BatchPolicyConfig policy_;
  // No dynamic batching and a bound above zero: inline execution may happen,
  // and RunBatch keeps the averages it is decided on.
  const bool inline_possible_;
  mutable absl::Mutex mu_;
  // The workers and the reaper sleep on condition variables rather than on
  // mu_.Await(condition): a thread waiting on a Mutex condition is one of the
  // Mutex's waiters, which sends every Unlock (several per request) down the
  // slow path that evaluates the waiters' conditions; and the reaper waits
  // nearly always. A condition variable's waiters are not the Mutex's.
  absl::CondVar work_cv_;    // a push, an instance released with work queued, shutdown
  absl::CondVar reaper_cv_;  // a push with an earlier deadline than the reaper's next, shutdown
  // The deadline the sleeping reaper wakes at (InfinitePast while it is
  // awake): a push wakes it only with an earlier deadline.
  absl::Time reaper_wakes_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::deque<std::unique_ptr<core::PendingRequest>> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped on every push
  std::atomic<uint64_t> pushes_{0};               // generation_, readable without mu_
  // The earliest deadline pushed since the reaper last looked at the queue:
  // the reaper sleeps until a push would make it wake earlier, so pushes
  // without a deadline (most of them) never wake it.
  absl::Time earliest_pushed_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // How many queued requests have a deadline: while none do (the usual
  // case), TakeExpired does not walk the queue on every dispatch.
  size_t with_deadline_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Who holds each instance: nobody, its worker (running a batch), or an
  // inline execution on another thread (its worker waits meanwhile).
  enum class Holder { kNone, kWorker, kInline };
  std::vector<Holder> holders_ ABSL_GUARDED_BY(mu_);
  int inline_running_ ABSL_GUARDED_BY(mu_) = 0;
  // Moving average of an execution's wall time (ns), and how many were seen.
  std::atomic<int64_t> recent_execute_ns_{0};
  std::atomic<int64_t> recent_input_bytes_{0};  // the same average of input bytes
  std::atomic<int64_t> executions_seen_{0};
  std::atomic<bool> stopping_flag_{false};  // stopping_, readable without mu_
  std::vector<std::thread> workers_;
  std::thread reaper_;
};

}  // namespace tide::batching
