// DynamicBatcher's inline execution (Options::inline_max_execute): when a
// request of a model without dynamic batching may run on the thread that
// enqueues it, and when it must go to the model's worker.

#include <atomic>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "batching/dynamic_batcher.h"
#include "common/caller_backlog.h"
#include "gtest/gtest.h"

namespace tide::batching {
namespace {

using Promise = std::promise<absl::StatusOr<core::InferResponse>>;

core::ModelSpec Spec(const std::string& extra) {
  auto spec = core::ParseModelConfig(
      "backend: \"fake\" max_batch_size: 8"
      " input { name: \"X\" data_type: TYPE_INT32 dims: [ 1 ] }"
      " output { name: \"Y\" data_type: TYPE_INT32 dims: [ 1 ] } " +
          extra,
      "m/config.pbtxt", "m");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

// Echoes X as Y after `work` (busy, not asleep, so the time is the
// execution's), noting the thread of every execution. Can be held on a gate.
class ThreadNotingInstance : public core::ModelInstance {
 public:
  std::vector<core::ExecuteResult> Execute(const std::vector<const core::InferRequest*>& batch,
                                           core::ExecuteTimings*) override {
    {
      absl::MutexLock lock(&mu);
      threads.push_back(std::this_thread::get_id());
    }
    started.fetch_add(1);
    if (gate) gate->WaitForNotification();
    absl::Time end = absl::Now() + work;
    while (absl::Now() < end) {
    }
    std::vector<core::ExecuteResult> out;
    for (const core::InferRequest* r : batch) {
      out.push_back(std::vector<core::Tensor>{
          {"Y", core::DataType::kInt32, r->inputs[0].shape, r->inputs[0].data}});
    }
    return out;
  }
  std::vector<std::thread::id> Threads() {
    absl::MutexLock lock(&mu);
    return threads;
  }
  absl::Duration work = absl::ZeroDuration();
  absl::Notification* gate = nullptr;
  std::atomic<int> started{0};
  absl::Mutex mu;
  std::vector<std::thread::id> threads ABSL_GUARDED_BY(mu);
};

// One request of `rows` rows, each the value.
std::unique_ptr<core::PendingRequest> Request(int32_t value, Promise* p, int rows = 1) {
  auto r = std::make_unique<core::PendingRequest>();
  core::Tensor x{"X", core::DataType::kInt32, {rows, 1}, std::string(4 * rows, '\0')};
  for (int i = 0; i < rows; ++i) std::memcpy(x.data.data() + 4 * i, &value, 4);
  r->batch_size = rows;
  r->request.inputs.push_back(std::move(x));
  r->shape_key = "X:1";
  r->arrival = common::MonotonicClock::Get()->Now();
  r->done = [p](absl::StatusOr<core::InferResponse> resp) { p->set_value(std::move(resp)); };
  return r;
}

int32_t Value(const absl::StatusOr<core::InferResponse>& r) {
  int32_t v = 0;
  if (r.ok() && !r->outputs.empty()) std::memcpy(&v, r->outputs[0].data.data(), 4);
  return v;
}

// Counts what a metrics observer sees: an inline request must pass through
// "the queue" (in flight from enqueue to completion) like any other.
class CountingObserver : public core::RequestObserver {
 public:
  void OnRejected(const absl::Status&) override {}
  void OnEnqueued() override { ++enqueued; }
  void OnDequeued() override { ++dequeued; }
  void OnBatch(int64_t, int, const core::ExecuteTimings&) override { ++batches; }
  void OnCompleted(const absl::Status&, absl::Duration, absl::Duration) override { ++completed; }
  void OnInline() override { ++inlined; }
  core::ModelStatistics Snapshot() const override { return {}; }
  std::atomic<int> enqueued{0}, dequeued{0}, batches{0}, completed{0}, inlined{0};
};

// The bound where inline execution is expected: far above what the fake's
// executions take even on a loaded machine or under a sanitizer, so the
// moving average never crosses it.
constexpr absl::Duration kGenerous = absl::Seconds(1);

struct Batcher {
  std::unique_ptr<DynamicBatcher> batcher;
  std::vector<ThreadNotingInstance*> instances;
};

Batcher Make(const std::string& config, absl::Duration inline_max, int instances = 1,
             absl::Duration work = absl::ZeroDuration(),
             std::shared_ptr<core::RequestObserver> observer = nullptr) {
  DynamicBatcher::Options o{Spec(config), 16, {}, std::move(observer)};
  o.inline_max_execute = inline_max;
  Batcher s;
  for (int i = 0; i < instances; ++i) {
    auto inst = std::make_unique<ThreadNotingInstance>();
    inst->work = work;
    s.instances.push_back(inst.get());
    o.instances.push_back(std::move(inst));
  }
  auto b = DynamicBatcher::Create(std::move(o));
  EXPECT_TRUE(b.ok()) << b.status();
  s.batcher = *std::move(b);
  return s;
}

// Executions so far on the calling thread, over every instance.
size_t RanHere(const Batcher& s) {
  size_t n = 0;
  for (auto* inst : s.instances) {
    for (std::thread::id t : inst->Threads()) n += t == std::this_thread::get_id();
  }
  return n;
}

// Sends `n` requests one after another (each answered before the next) and
// returns, for each, whether it executed on this (the enqueueing) thread.
std::vector<bool> SendOneByOne(const Batcher& s, int n) {
  std::vector<bool> on_caller;
  for (int i = 0; i < n; ++i) {
    size_t before = RanHere(s);
    Promise p;
    auto f = p.get_future();
    EXPECT_TRUE(s.batcher->Enqueue(Request(i, &p)).ok());
    EXPECT_EQ(Value(f.get()), i);
    on_caller.push_back(RanHere(s) == before + 1);
  }
  return on_caller;
}

// Warms up `s`'s single instance (8 executions on its worker), then sends
// `value` from a new thread, where it runs inline, held on `gate`; returns
// once it is executing there.
std::thread HoldInline(Batcher& s, absl::Notification* gate, int32_t value, Promise* p,
                       std::thread::id* caller_id) {
  SendOneByOne(s, 8);
  s.instances[0]->gate = gate;
  absl::Notification running;
  std::thread caller([&s, value, p, caller_id, &running] {
    *caller_id = std::this_thread::get_id();
    running.Notify();
    EXPECT_TRUE(s.batcher->Enqueue(Request(value, p)).ok());
  });
  running.WaitForNotification();
  while (s.instances[0]->started.load() != 9) absl::SleepFor(absl::Milliseconds(1));
  return caller;
}

TEST(InlineExecution, AfterEightFastExecutionsOnTheWorkerRequestsRunOnTheCallersThread) {
  auto counts = std::make_shared<CountingObserver>();
  Batcher s = Make("", kGenerous, 1, absl::ZeroDuration(), counts);
  std::vector<bool> inline_now = SendOneByOne(s, 12);
  EXPECT_EQ(inline_now, (std::vector<bool>{false, false, false, false, false, false, false, false,
                                           true, true, true, true}));
  std::vector<std::thread::id> threads = s.instances[0]->Threads();
  ASSERT_EQ(threads.size(), 12u);
  for (int i = 0; i < 8; ++i) EXPECT_NE(threads[i], std::this_thread::get_id()) << i;
  for (int i = 8; i < 12; ++i) EXPECT_EQ(threads[i], std::this_thread::get_id()) << i;
  s.batcher->Shutdown();
  // Every request, inline or not, entered and left the queue and completed.
  EXPECT_EQ(counts->enqueued.load(), 12);
  EXPECT_EQ(counts->dequeued.load(), 12);
  EXPECT_EQ(counts->batches.load(), 12);
  EXPECT_EQ(counts->completed.load(), 12);
  EXPECT_EQ(counts->inlined.load(), 4);  // the four that ran here
}

TEST(InlineExecution, NeverWithDynamicBatchingOrWhenOff) {
  for (const auto& [config, inline_max] :
       {std::pair<std::string, absl::Duration>{"dynamic_batching { }", kGenerous},
        {"", absl::ZeroDuration()}}) {
    SCOPED_TRACE(config);
    Batcher s = Make(config, inline_max);
    EXPECT_EQ(SendOneByOne(s, 12), std::vector<bool>(12, false));
    for (std::thread::id t : s.instances[0]->Threads()) EXPECT_NE(t, std::this_thread::get_id());
    s.batcher->Shutdown();
  }
}

TEST(InlineExecution, NeverForAModelSlowerThanTheBound) {
  // 2 ms per execution against a 100 us bound.
  Batcher s = Make("", absl::Microseconds(100), 1, absl::Milliseconds(2));
  EXPECT_EQ(SendOneByOne(s, 10), std::vector<bool>(10, false));
  s.batcher->Shutdown();
}

TEST(InlineExecution, NeverForARequestMoreThanTwiceTheUsualSize) {
  Batcher s = Make("", kGenerous);
  SendOneByOne(s, 8);  // one row (4 bytes) each
  for (int rows : {2, 3, 8}) {
    Promise p;
    size_t before = RanHere(s);
    ASSERT_TRUE(s.batcher->Enqueue(Request(5, &p, rows)).ok());
    auto r = p.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outputs[0].shape, (std::vector<int64_t>{rows, 1}));
    // 2 rows: twice the average, inline; 3 and 8: on the worker.
    EXPECT_EQ(RanHere(s), before + (rows == 2 ? 1 : 0)) << rows;
  }
  s.batcher->Shutdown();
}

TEST(InlineExecution, NeverWhenTheCallerHasMoreWorkWaiting) {
  Batcher s = Make("", kGenerous);
  SendOneByOne(s, 8);
  common::caller_has_backlog = true;
  EXPECT_EQ(SendOneByOne(s, 3), std::vector<bool>(3, false));
  common::caller_has_backlog = false;
  EXPECT_EQ(SendOneByOne(s, 2), std::vector<bool>(2, true));
  s.batcher->Shutdown();
}

TEST(InlineExecution, ARequestQueuedWhileTheOnlyInstanceRunsInlineRunsRightAfterOnTheWorker) {
  Batcher s = Make("", kGenerous);
  absl::Notification gate;
  Promise first, second;
  std::thread::id caller_id;
  std::thread caller = HoldInline(s, &gate, 1, &first, &caller_id);
  // The instance is held inline by `caller`: this one queues, and its
  // worker must not run it on the same instance meanwhile.
  ASSERT_TRUE(s.batcher->Enqueue(Request(2, &second)).ok());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(s.instances[0]->started.load(), 9);
  EXPECT_EQ(s.batcher->QueueDepth(), 1);
  gate.Notify();
  caller.join();
  EXPECT_EQ(Value(first.get_future().get()), 1);
  auto f = second.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(Value(f.get()), 2);
  std::vector<std::thread::id> threads = s.instances[0]->Threads();
  ASSERT_EQ(threads.size(), 10u);
  EXPECT_EQ(threads[8], caller_id);
  EXPECT_NE(threads[9], caller_id);  // the worker, not the inline caller
  s.batcher->Shutdown();
}

TEST(InlineExecution, ShutdownWaitsForAnInlineExecutionToFinish) {
  Batcher s = Make("", kGenerous);
  absl::Notification gate;
  Promise p;
  std::thread::id caller_id;
  std::thread caller = HoldInline(s, &gate, 7, &p, &caller_id);
  std::atomic<bool> shut{false};
  std::thread stopper([&] {
    s.batcher->Shutdown();
    shut = true;
  });
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(shut.load());  // still running inline on `caller`
  // New work is refused meanwhile, not run inline on a stopping batcher.
  Promise refused;
  EXPECT_EQ(s.batcher->Enqueue(Request(8, &refused)).code(), absl::StatusCode::kUnavailable);
  gate.Notify();
  caller.join();
  stopper.join();
  EXPECT_TRUE(shut.load());
  EXPECT_EQ(Value(p.get_future().get()), 7);
  EXPECT_EQ(s.instances[0]->started.load(), 9);
}

TEST(InlineExecution, TwoInstancesOneInlineAndOneOnItsWorker) {
  Batcher s = Make("", kGenerous, 2);
  SendOneByOne(s, 8);
  absl::Notification gate;
  for (auto* i : s.instances) i->gate = &gate;
  Promise a, b;
  std::thread caller([&] { ASSERT_TRUE(s.batcher->Enqueue(Request(1, &a)).ok()); });
  while (s.instances[0]->started.load() + s.instances[1]->started.load() != 9) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  // One instance is held inline; the other's worker takes this one at once
  // (this thread says it has other work, or it would run it inline too and
  // wait on the gate itself).
  common::caller_has_backlog = true;
  ASSERT_TRUE(s.batcher->Enqueue(Request(2, &b)).ok());
  common::caller_has_backlog = false;
  while (s.instances[0]->started.load() + s.instances[1]->started.load() != 10) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(s.batcher->QueueDepth(), 0);
  gate.Notify();
  caller.join();
  EXPECT_EQ(Value(a.get_future().get()), 1);
  EXPECT_EQ(Value(b.get_future().get()), 2);
  // Request 2 ran on a worker: neither this thread nor the inline caller.
  int on_this_thread = 0;
  for (auto* i : s.instances) {
    for (std::thread::id t : i->Threads()) on_this_thread += t == std::this_thread::get_id();
  }
  EXPECT_EQ(on_this_thread, 0);
  s.batcher->Shutdown();
}

}  // namespace
}  // namespace tide::batching
