#include "batching/dynamic_batcher.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/caller_backlog.h"
#include "core/response_builder.h"

namespace tide::batching {

BatchPolicyConfig DynamicBatcher::PolicyFor(const core::ModelSpec& spec) {
  BatchPolicyConfig c;
  c.max_batch_size = spec.max_batch_size;
  c.dynamic = spec.batching.dynamic;
  c.preferred_batch_sizes.assign(spec.batching.preferred_batch_sizes.begin(),
                                 spec.batching.preferred_batch_sizes.end());
  c.max_queue_delay = spec.batching.max_queue_delay;
  return c;
}

absl::StatusOr<std::unique_ptr<DynamicBatcher>> DynamicBatcher::Create(Options options) {
  if (options.instances.empty()) {
    return absl::InvalidArgumentError("DynamicBatcher needs at least one model instance");
  }
  if (options.max_queue_size == 0) {
    return absl::InvalidArgumentError("max_queue_size must be at least 1");
  }
  std::unique_ptr<DynamicBatcher> b(new DynamicBatcher(std::move(options)));
  {
    absl::MutexLock lock(&b->mu_);
    b->holders_.assign(b->options_.instances.size(), Holder::kNone);
  }
  for (size_t i = 0; i < b->options_.instances.size(); ++i) {
    b->workers_.emplace_back([raw = b.get(), i] { raw->WorkerLoop(i); });
  }
  b->reaper_ = std::thread([raw = b.get()] { raw->ReaperLoop(); });
  return b;
}

DynamicBatcher::DynamicBatcher(Options options)
    : options_(std::move(options)),
      policy_(PolicyFor(options_.spec)),
      inline_possible_(!policy_.dynamic && options_.inline_max_execute > absl::ZeroDuration()) {}

DynamicBatcher::~DynamicBatcher() { Shutdown(); }

absl::Status DynamicBatcher::Enqueue(std::unique_ptr<core::PendingRequest> request) {
  if (TryRunInline(request)) return absl::OkStatus();
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      refused = absl::UnavailableError(absl::StrCat(
          "model '", options_.spec.name, "' is shutting down; retry on another replica"));
    } else if (queue_.size() >= options_.max_queue_size) {
      refused = absl::UnavailableError(absl::StrCat("model '", options_.spec.name,
                                                    "' queue is full (", options_.max_queue_size,
                                                    " requests waiting); retry later"));
    } else {
      earliest_pushed_deadline_ = std::min(earliest_pushed_deadline_, request->deadline);
      if (request->deadline != absl::InfiniteFuture()) ++with_deadline_;
      queue_.push_back(std::move(request));
      // Counted under the lock that makes the request visible to the
      // workers, so the queue-depth gauge never reads below 0 (a worker's
      // dequeue counted first) nor above the queue's length.
      if (options_.observer) options_.observer->OnEnqueued();
      ++generation_;
      pushes_.store(generation_, std::memory_order_release);
      // Cheap when nobody sleeps (the usual case under load: the workers
      // are busy); absl defers the wake-up to the Unlock below.
      work_cv_.SignalAll();
      if (earliest_pushed_deadline_ < reaper_wakes_at_) reaper_cv_.Signal();
    }
  }
  if (!refused.ok()) {
    request->done(refused);
    return refused;
  }
  return absl::OkStatus();
}

namespace {

// The bytes of a request's input tensors.
int64_t InputBytes(const core::InferRequest& r) {
  int64_t bytes = 0;
  for (const core::Tensor& t : r.inputs) bytes += static_cast<int64_t>(t.data.size());
  return bytes;
}

}  // namespace

bool DynamicBatcher::InlineEligible(const core::PendingRequest& request, absl::Time now) const {
  if (stopping_ || !queue_.empty() || request.deadline <= now) return false;
  if (executions_seen_.load(std::memory_order_relaxed) < kInlineWarmUpExecutions) return false;
  // A request much larger than those the average was measured on may take
  // much longer (a batch of 8 where 1 was usual, a long sequence): it goes
  // to the worker, and an I/O thread is never held by it.
  if (InputBytes(request.request) > 2 * recent_input_bytes_.load(std::memory_order_relaxed)) {
    return false;
  }
  return absl::Nanoseconds(recent_execute_ns_.load(std::memory_order_relaxed)) <=
         options_.inline_max_execute;
}

bool DynamicBatcher::TryRunInline(std::unique_ptr<core::PendingRequest>& request) {
  if (!inline_possible_) return false;
  // A caller with more ready work goes on with it while a worker runs this.
  if (common::caller_has_backlog) return false;
  if (request->request.cancelled && request->request.cancelled()) return false;
  size_t index = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!InlineEligible(*request, options_.clock->Now())) return false;
    while (index < holders_.size() && holders_[index] != Holder::kNone) ++index;
    if (index == holders_.size()) return false;
    holders_[index] = Holder::kInline;
    ++inline_running_;
    // Counted as a pass through the queue (in flight from here until
    // OnCompleted), pushed and popped under the same lock: the depth gauge
    // never shows it.
    if (options_.observer) {
      options_.observer->OnEnqueued();
      options_.observer->OnDequeued();
      options_.observer->OnInline();
    }
  }
  std::vector<std::unique_ptr<core::PendingRequest>> batch;
  batch.push_back(std::move(request));
  RunBatch(index, std::move(batch));
  absl::MutexLock lock(&mu_);
  --inline_running_;
  return true;
}

void DynamicBatcher::ReleaseInstance(size_t index) {
  absl::MutexLock lock(&mu_);
  const bool was_inline = holders_[index] == Holder::kInline;
  holders_[index] = Holder::kNone;
  // After an inline execution, wakes the instance's worker if requests
  // queued up meanwhile (only then: a wake-up per request would cost more
  // than the hand-off saved).
  if (was_inline && !queue_.empty()) {
    ++generation_;
    pushes_.store(generation_, std::memory_order_release);
    work_cv_.SignalAll();
  }
}

void DynamicBatcher::RecordExecution(absl::Duration took, int64_t input_bytes) {
  // Updates may race between instances; an update lost now and then does
  // not matter to an average.
  int64_t ns = absl::ToInt64Nanoseconds(took);
  int64_t seen = executions_seen_.fetch_add(1, std::memory_order_relaxed);
  int64_t avg = recent_execute_ns_.load(std::memory_order_relaxed);
  recent_execute_ns_.store(seen == 0 ? ns : avg + (ns - avg) / 8, std::memory_order_relaxed);
  int64_t bytes = recent_input_bytes_.load(std::memory_order_relaxed);
  recent_input_bytes_.store(seen == 0 ? input_bytes : bytes + (input_bytes - bytes) / 8,
                            std::memory_order_relaxed);
}

int64_t DynamicBatcher::QueueDepth() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size());
}

void DynamicBatcher::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    stopping_flag_.store(true, std::memory_order_release);
    work_cv_.SignalAll();
    reaper_cv_.SignalAll();
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  if (reaper_.joinable()) reaper_.join();
  // An inline execution started before `stopping_` finishes on its caller's
  // thread; it still uses an instance.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &inline_running_));
}

absl::Time DynamicBatcher::TakeExpired(
    absl::Time now, std::vector<std::unique_ptr<core::PendingRequest>>* expired) {
  absl::Time next_deadline = absl::InfiniteFuture();
  if (with_deadline_ == 0) return next_deadline;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->deadline <= now) {
      if ((*it)->deadline != absl::InfiniteFuture()) --with_deadline_;
      expired->push_back(std::move(*it));
      it = queue_.erase(it);
      if (options_.observer) options_.observer->OnDequeued();  // under mu_, as the pop
    } else {
      next_deadline = std::min(next_deadline, (*it)->deadline);
      ++it;
    }
  }
  return next_deadline;
}

void DynamicBatcher::TakeCancelled(size_t head,
                                   std::vector<std::unique_ptr<core::PendingRequest>>* cancelled) {
  for (size_t i = 0; i < queue_.size() && i < head;) {
    const std::function<bool()>& gone = queue_[i]->request.cancelled;
    if (gone && gone()) {
      if (queue_[i]->deadline != absl::InfiniteFuture()) --with_deadline_;
      cancelled->push_back(std::move(queue_[i]));
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
      if (options_.observer) options_.observer->OnDequeued();
    } else {
      ++i;
    }
  }
}

void DynamicBatcher::AnswerExpired(std::vector<std::unique_ptr<core::PendingRequest>> expired) {
  absl::Time now = options_.clock->Now();
  for (auto& r : expired) {
    const std::string waited = absl::StrCat(absl::FormatDuration(now - r->arrival), " in model '",
                                            options_.spec.name, "' queue");
    absl::Status s =
        r->deadline <= now
            ? absl::DeadlineExceededError(absl::StrCat("request timed out after waiting ", waited))
            : absl::CancelledError(
                  absl::StrCat("request cancelled by the client after waiting ", waited));
    if (options_.observer) options_.observer->OnCompleted(s, now - r->arrival, now - r->arrival);
    r->done(s);
  }
}

void DynamicBatcher::AwaitPushUntil(absl::Time until, absl::Time now) {
  // The caller has held mu_ since it looked at the queue, so a push cannot
  // come between its look and this wait; a spurious wake-up only makes it
  // look again. (Shutdown wakes every worker; one waiting for its instance,
  // held by an inline execution, is woken by the release.)
  if (until == absl::InfiniteFuture()) {
    work_cv_.Wait(&mu_);
  } else {
    work_cv_.WaitWithTimeout(&mu_, until - now);
  }
}

void DynamicBatcher::SpinForPush(uint64_t seen) {
  const absl::Time end = options_.clock->Now() + options_.idle_spin;
  for (int i = 0;; ++i) {
    if (pushes_.load(std::memory_order_acquire) != seen ||
        stopping_flag_.load(std::memory_order_acquire)) {
      return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if ((i & 63) == 63 && options_.clock->Now() >= end) return;
  }
}

void DynamicBatcher::ReaperLoop() {
  for (;;) {
    std::vector<std::unique_ptr<core::PendingRequest>> expired;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;  // while draining, the workers flush the queue themselves
      absl::Time now = options_.clock->Now();
      earliest_pushed_deadline_ = absl::InfiniteFuture();
      absl::Time next = TakeExpired(now, &expired);
      if (expired.empty()) {
        // Wake at `next`, or when a push brings an earlier deadline (a
        // spurious wake-up only makes it look again).
        reaper_wakes_at_ = next;
        if (next == absl::InfiniteFuture()) {
          reaper_cv_.Wait(&mu_);
        } else {
          reaper_cv_.WaitWithTimeout(&mu_, next - now);
        }
        reaper_wakes_at_ = absl::InfinitePast();
        continue;
      }
    }
    AnswerExpired(std::move(expired));
  }
}

void DynamicBatcher::WorkerLoop(size_t index) {
  // Named so that per-thread CPU (top -H, /proc/PID/task) tells the model's
  // compute apart from HTTP work; Linux keeps 15 characters.
  pthread_setname_np(pthread_self(), "tide-worker");
  // Nothing past the first max_batch_size + 1 requests can change the
  // policy's decision (and a model without dynamic batching takes one).
  const size_t lookahead =
      policy_.dynamic ? static_cast<size_t>(std::max(policy_.max_batch_size, 0)) + 1 : 1;
  std::vector<QueuedItem> head;
  // The spin pays only when the next request comes within it (a client
  // sending back to back); with sparser traffic it would burn CPU for
  // nothing. So the worker spins only while the idle gaps it has seen lately
  // (a moving average) are no longer than the spin.
  absl::Duration recent_gap = absl::ZeroDuration();
  bool idle = false;
  absl::Time idle_since;
  for (;;) {
    std::vector<std::unique_ptr<core::PendingRequest>> batch, expired;
    bool spun = options_.idle_spin <= absl::ZeroDuration();
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        absl::Time now = options_.clock->Now();
        absl::Time next_deadline = TakeExpired(now, &expired);
        if (!expired.empty()) break;
        if (queue_.empty()) {
          if (stopping_) return;
          if (!idle) {
            idle = true;
            idle_since = now;
          }
          if (!spun && recent_gap <= options_.idle_spin) {  // once per idle period
            spun = true;
            const uint64_t seen = generation_;
            mu_.Unlock();
            // Counted as the CPU the spin burned (what CPU-based scaling
            // sees), not its wall time, which a preempted thread stretches.
            // The thread's CPU clock is a system call: read only around a
            // spin, so only while the worker is idle.
            const absl::Duration cpu_start = common::ThreadCpuTime();
            SpinForPush(seen);
            if (options_.observer) options_.observer->OnSpin(common::ThreadCpuTime() - cpu_start);
            mu_.Lock();
            continue;
          }
          AwaitPushUntil(absl::InfiniteFuture(), now);
          continue;
        }
        if (idle) {
          idle = false;
          recent_gap += (now - idle_since - recent_gap) / 8;
        }
        TakeCancelled(lookahead, &expired);
        if (!expired.empty()) break;
        if (holders_[index] == Holder::kInline) {
          // Its instance is running a request inline; the release bumps
          // the generation. The reaper answers deadlines meanwhile.
          AwaitPushUntil(absl::InfiniteFuture(), now);
          continue;
        }
        head.clear();
        for (size_t i = 0; i < queue_.size() && i < lookahead; ++i) {
          head.push_back({queue_[i]->batch_size, queue_[i]->shape_key, queue_[i]->arrival});
        }
        BatchDecision d = DecideBatch(policy_, head, now, stopping_);
        if (d.kind == BatchDecision::Kind::kDispatch) {
          holders_[index] = Holder::kWorker;
          for (size_t i = 0; i < d.count; ++i) {
            if (queue_.front()->deadline != absl::InfiniteFuture()) --with_deadline_;
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
            if (options_.observer) options_.observer->OnDequeued();
          }
          break;
        }
        AwaitPushUntil(std::min(d.wait_until, next_deadline), now);
      }
    }
    AnswerExpired(std::move(expired));
    if (!batch.empty()) RunBatch(index, std::move(batch));
  }
}

void DynamicBatcher::RunBatch(size_t index,
                              std::vector<std::unique_ptr<core::PendingRequest>> batch) {
  core::ModelInstance* instance = options_.instances[index].get();
  absl::Time start = options_.clock->Now();
  std::vector<const core::InferRequest*> requests;
  int64_t rows = 0;
  for (auto& r : batch) {
    requests.push_back(&r->request);
    rows += r->batch_size;
  }
  core::ExecuteTimings timings;
  std::vector<core::ExecuteResult> results;
  try {
    results = instance->Execute(requests, &timings);
  } catch (const std::exception& e) {
    results.clear();
    results.resize(batch.size(), absl::InternalError(absl::StrCat("backend threw: ", e.what())));
  }
  if (results.size() != batch.size()) {
    absl::Status bad =
        absl::InternalError(absl::StrCat("backend '", options_.spec.backend, "' returned ",
                                         results.size(), " results for a batch of ", batch.size()));
    results.assign(batch.size(), bad);
  }
  if (options_.observer) options_.observer->OnBatch(rows, static_cast<int>(batch.size()), timings);
  absl::Time end = options_.clock->Now();
  if (inline_possible_) {  // the averages serve inline execution only
    int64_t input_bytes = 0;
    for (const core::InferRequest* r : requests) input_bytes += InputBytes(*r);
    RecordExecution(end - start, input_bytes);
  }
  // Free before the answers go out: the instance is done with the batch.
  ReleaseInstance(index);
  for (size_t i = 0; i < batch.size(); ++i) {
    core::PendingRequest& r = *batch[i];
    absl::StatusOr<core::InferResponse> response =
        results[i].ok() ? core::BuildResponse(options_.spec, r.request, *std::move(results[i]))
                        : absl::StatusOr<core::InferResponse>(results[i].status());
    if (options_.observer) {
      options_.observer->OnCompleted(response.status(), start - r.arrival, end - r.arrival);
    }
    r.done(std::move(response));
  }
}

}  // namespace tide::batching
