#include "batching/dynamic_batcher.h"

#include <atomic>
#include <cstring>
#include <functional>
#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace tide::batching {
namespace {

core::ModelSpec Spec(const std::string& extra) {
  auto spec = core::ParseModelConfig(
      "backend: \"fake\" max_batch_size: 8"
      " input { name: \"X\" data_type: TYPE_INT32 dims: [ -1 ] }"
      " output { name: \"Y\" data_type: TYPE_INT32 dims: [ -1 ] } " +
          extra,
      "m/config.pbtxt", "m");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

// Doubles X into Y; fails requests whose first element is negative; records
// batch sizes. Can be held on a gate to let the queue build up.
class FakeInstance : public core::ModelInstance {
 public:
  std::vector<core::ExecuteResult> Execute(const std::vector<const core::InferRequest*>& batch,
                                           core::ExecuteTimings*) override {
    started += static_cast<int>(batch.size());
    if (gate) gate->WaitForNotification();
    batches.push_back(static_cast<int>(batch.size()));
    std::vector<core::ExecuteResult> out;
    for (const core::InferRequest* r : batch) {
      const core::Tensor& x = r->inputs[0];
      std::vector<int32_t> v(x.data.size() / 4);
      std::memcpy(v.data(), x.data.data(), x.data.size());
      if (!v.empty() && v[0] < 0) {
        out.push_back(absl::InvalidArgumentError("negative"));
        continue;
      }
      for (int32_t& e : v) e *= 2;
      core::Tensor y{"Y", core::DataType::kInt32, x.shape, std::string(x.data.size(), '\0')};
      std::memcpy(y.data.data(), v.data(), y.data.size());
      out.push_back(std::vector<core::Tensor>{std::move(y)});
    }
    return out;
  }
  absl::Notification* gate = nullptr;
  std::vector<int> batches;
  std::atomic<int> started{0};  // requests handed to Execute
};

std::unique_ptr<core::PendingRequest> Request(
    int32_t value, int cols, std::promise<absl::StatusOr<core::InferResponse>>* p) {
  auto r = std::make_unique<core::PendingRequest>();
  std::vector<int32_t> v(cols, value);
  core::Tensor x{"X", core::DataType::kInt32, {1, cols}, std::string(cols * 4, '\0')};
  std::memcpy(x.data.data(), v.data(), x.data.size());
  r->request.inputs.push_back(std::move(x));
  r->shape_key = "X:" + std::to_string(cols);
  r->arrival = common::MonotonicClock::Get()->Now();
  r->done = [p](absl::StatusOr<core::InferResponse> resp) { p->set_value(std::move(resp)); };
  return r;
}

int32_t First(const absl::StatusOr<core::InferResponse>& r) {
  int32_t v;
  std::memcpy(&v, r->outputs.at(0).data.data(), 4);
  return v;
}

TEST(DynamicBatcher, BatchesQueuedRequestsAndFailsOnlyTheBadOne) {
  auto inst = std::make_unique<FakeInstance>();
  FakeInstance* fake = inst.get();
  absl::Notification gate;
  fake->gate = &gate;
  DynamicBatcher::Options o{Spec("dynamic_batching { }"), 16, {}, nullptr};
  o.instances.push_back(std::move(inst));
  auto b = DynamicBatcher::Create(std::move(o));
  ASSERT_TRUE(b.ok());
  // First request occupies the (gated) worker; the next four queue up behind it.
  std::promise<absl::StatusOr<core::InferResponse>> p[5];
  ASSERT_TRUE((*b)->Enqueue(Request(1, 4, &p[0])).ok());
  while ((*b)->QueueDepth() != 0) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE((*b)->Enqueue(Request(2, 4, &p[1])).ok());
  ASSERT_TRUE((*b)->Enqueue(Request(-3, 4, &p[2])).ok());
  ASSERT_TRUE((*b)->Enqueue(Request(4, 4, &p[3])).ok());
  ASSERT_TRUE((*b)->Enqueue(Request(5, 2, &p[4])).ok());  // other shape: its own batch
  EXPECT_EQ((*b)->QueueDepth(), 4);
  gate.Notify();
  auto r0 = p[0].get_future().get(), r1 = p[1].get_future().get(), r2 = p[2].get_future().get(),
       r3 = p[3].get_future().get(), r4 = p[4].get_future().get();
  EXPECT_EQ(First(r0), 2);
  EXPECT_EQ(First(r1), 4);
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(First(r3), 8);
  EXPECT_EQ(First(r4), 10);
  (*b)->Shutdown();
  EXPECT_EQ(fake->batches, (std::vector<int>{1, 3, 1}));
}

TEST(DynamicBatcher, FullQueueRefusesAtOnceAndCallsDone) {
  auto inst = std::make_unique<FakeInstance>();
  absl::Notification gate;
  inst->gate = &gate;
  DynamicBatcher::Options o{Spec(""), 1, {}, nullptr};
  o.instances.push_back(std::move(inst));
  auto b = DynamicBatcher::Create(std::move(o));
  ASSERT_TRUE(b.ok());
  std::promise<absl::StatusOr<core::InferResponse>> p[3];
  ASSERT_TRUE((*b)->Enqueue(Request(1, 1, &p[0])).ok());
  while ((*b)->QueueDepth() != 0) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE((*b)->Enqueue(Request(2, 1, &p[1])).ok());
  absl::Status s = (*b)->Enqueue(Request(3, 1, &p[2]));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  auto refused = p[2].get_future().get();
  EXPECT_EQ(std::string(refused.status().message()),
            "model 'm' queue is full (1 requests waiting); retry later");
  gate.Notify();
  EXPECT_EQ(First(p[1].get_future().get()), 4);
}

TEST(DynamicBatcher, ExpiredRequestsAreAnsweredWithoutRunning) {
  auto inst = std::make_unique<FakeInstance>();
  FakeInstance* fake = inst.get();
  absl::Notification gate;
  fake->gate = &gate;
  DynamicBatcher::Options o{Spec(""), 8, {}, nullptr};
  o.instances.push_back(std::move(inst));
  auto b = DynamicBatcher::Create(std::move(o));
  std::promise<absl::StatusOr<core::InferResponse>> p[2];
  ASSERT_TRUE((*b)->Enqueue(Request(1, 1, &p[0])).ok());
  while ((*b)->QueueDepth() != 0) absl::SleepFor(absl::Milliseconds(1));
  auto late = Request(2, 1, &p[1]);
  late->deadline = late->arrival + absl::Milliseconds(20);
  ASSERT_TRUE((*b)->Enqueue(std::move(late)).ok());
  absl::SleepFor(absl::Milliseconds(40));
  gate.Notify();
  EXPECT_EQ(p[1].get_future().get().status().code(), absl::StatusCode::kDeadlineExceeded);
  (*b)->Shutdown();
  EXPECT_EQ(fake->batches, (std::vector<int>{1}));
}

// The queue is only walked for deadlines while some queued request has one:
// requests with and without deadlines, dispatched and expired, keep that
// count right, so a deadline that passes behind others is still answered.
TEST(DynamicBatcher, DeadlinesAmongRequestsWithoutThemStillExpire) {
  auto inst = std::make_unique<FakeInstance>();
  FakeInstance* fake = inst.get();
  absl::Notification gate;
  fake->gate = &gate;
  DynamicBatcher::Options o{Spec(""), 8, {}, nullptr};
  o.instances.push_back(std::move(inst));
  auto b = DynamicBatcher::Create(std::move(o));
  std::promise<absl::StatusOr<core::InferResponse>> p[4];
  auto a = Request(1, 1, &p[0]);
  a->deadline = a->arrival + absl::Seconds(10);
  ASSERT_TRUE((*b)->Enqueue(std::move(a)).ok());  // dispatched, then held on the gate
  while (fake->started.load() != 1) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE((*b)->Enqueue(Request(2, 1, &p[1])).ok());  // no deadline
  // The reaper goes to sleep until d's deadline, 10 s away; c's, pushed
  // after, is earlier and must wake it.
  auto d = Request(4, 1, &p[3]);
  d->deadline = d->arrival + absl::Seconds(10);
  ASSERT_TRUE((*b)->Enqueue(std::move(d)).ok());
  absl::SleepFor(absl::Milliseconds(5));
  auto c = Request(3, 1, &p[2]);
  c->deadline = c->arrival + absl::Milliseconds(20);
  ASSERT_TRUE((*b)->Enqueue(std::move(c)).ok());
  auto expired = p[2].get_future();
  ASSERT_EQ(expired.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(expired.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ((*b)->QueueDepth(), 2);
  gate.Notify();
  EXPECT_EQ(First(p[0].get_future().get()), 2);
  EXPECT_EQ(First(p[1].get_future().get()), 4);
  EXPECT_EQ(First(p[3].get_future().get()), 8);
  (*b)->Shutdown();
  EXPECT_EQ(fake->batches, (std::vector<int>{1, 1, 1}));
}

TEST(DynamicBatcher, ShutdownFinishesEverythingQueued) {
  auto inst = std::make_unique<FakeInstance>();
  DynamicBatcher::Options o{
      Spec("dynamic_batching { max_queue_delay_microseconds: 10000000 }"), 64, {}, nullptr};
  o.instances.push_back(std::move(inst));
  auto b = DynamicBatcher::Create(std::move(o));
  std::promise<absl::StatusOr<core::InferResponse>> p[20];
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*b)->Enqueue(Request(i, 1, &p[i])).ok());
  (*b)->Shutdown();  // would otherwise wait 10 s for the batching delay
  for (int i = 0; i < 20; ++i) EXPECT_EQ(First(p[i].get_future().get()), 2 * i);
  std::promise<absl::StatusOr<core::InferResponse>> after;
  EXPECT_EQ((*b)->Enqueue(Request(1, 1, &after)).code(), absl::StatusCode::kUnavailable);
}

TEST(DynamicBatcher, SpinningWorkerTakesPushesAndStopsAtShutdown) {
  auto inst = std::make_unique<FakeInstance>();
  FakeInstance* fake = inst.get();
  DynamicBatcher::Options o{Spec(""), 64, {}, nullptr};
  o.instances.push_back(std::move(inst));
  o.idle_spin = absl::Seconds(30);  // longer than the test: every wait below is the spin
  auto b = DynamicBatcher::Create(std::move(o));
  for (int i = 0; i < 5; ++i) {
    std::promise<absl::StatusOr<core::InferResponse>> p;
    auto f = p.get_future();
    ASSERT_TRUE((*b)->Enqueue(Request(i, 1, &p)).ok());
    ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_EQ(First(f.get()), 2 * i);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the worker is spinning again
  }
  absl::Time start = absl::Now();
  (*b)->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(fake->batches, (std::vector<int>{1, 1, 1, 1, 1}));
}

// Counts the worker's spins; the rest is not needed here.
class SpinCounter : public core::RequestObserver {
 public:
  void OnRejected(const absl::Status&) override {}
  void OnEnqueued() override {}
  void OnDequeued() override {}
  void OnBatch(int64_t, int, const core::ExecuteTimings&) override {}
  void OnCompleted(const absl::Status&, absl::Duration, absl::Duration) override {}
  void OnSpin(absl::Duration) override { ++spins; }
  core::ModelStatistics Snapshot() const override { return {}; }
  std::atomic<int> spins{0};
};

TEST(DynamicBatcher, SparseTrafficStopsTheSpin) {
  auto counter = std::make_shared<SpinCounter>();
  DynamicBatcher::Options o{Spec(""), 64, {}, counter};
  o.instances.push_back(std::make_unique<FakeInstance>());
  o.idle_spin = absl::Milliseconds(1);
  auto b = DynamicBatcher::Create(std::move(o));
  // Requests 30 ms apart: the first idle period spins (no gap seen yet); its
  // gap, ~30 ms, lifts the moving average (1/8 of it: ~4 ms) above the 1 ms
  // spin, so no later idle period spins.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::promise<absl::StatusOr<core::InferResponse>> p;
    auto f = p.get_future();
    ASSERT_TRUE((*b)->Enqueue(Request(i, 1, &p)).ok());
    EXPECT_EQ(First(f.get()), 2 * i);
  }
  (*b)->Shutdown();
  EXPECT_EQ(counter->spins.load(), 1);
}

// Keeps the queue-depth gauge the way the server's observer does (+1 on
// enqueue, -1 on dequeue) and checks it at every change against the queue's
// real length, bounded from above by (requests submitted) - (requests handed
// to Execute): a dequeued request leaves the queue before Execute sees it.
class DepthObserver : public core::RequestObserver {
 public:
  void OnRejected(const absl::Status&) override {}
  void OnEnqueued() override {
    if (before_enqueue) before_enqueue();
    Check(++depth);
  }
  void OnDequeued() override { Check(--depth); }
  void OnBatch(int64_t, int, const core::ExecuteTimings&) override {}
  void OnCompleted(const absl::Status&, absl::Duration, absl::Duration) override {}
  core::ModelStatistics Snapshot() const override { return {}; }

  void Check(int value) {
    int bound = submitted->load();
    for (const FakeInstance* i : instances) bound -= i->started.load();
    if (value < 0 || value > bound) ++violations;
    int low = lowest.load();
    while (value < low && !lowest.compare_exchange_weak(low, value)) {
    }
  }

  std::function<void()> before_enqueue;  // runs before the enqueue is counted
  const std::atomic<int>* submitted = nullptr;
  std::vector<const FakeInstance*> instances;
  std::atomic<int> depth{0}, lowest{0}, violations{0};
};

TEST(DynamicBatcher, EnqueueIsCountedBeforeAWorkerCanDequeueIt) {
  // The enqueue hook waits (up to 200 ms) for the worker to start executing the
  // request. Counted after the push is visible, the worker dequeues it first
  // and the gauge reads -1 (the bug the queue-depth HPA saw); counted under
  // the queue's lock, the worker cannot take it until it has been counted.
  auto inst = std::make_unique<FakeInstance>();
  FakeInstance* fake = inst.get();
  std::atomic<int> submitted{0};
  auto depth = std::make_shared<DepthObserver>();
  depth->submitted = &submitted;
  depth->instances = {fake};
  depth->before_enqueue = [fake] {
    for (int i = 0; i < 200 && fake->started.load() == 0; ++i) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  };
  DynamicBatcher::Options o{Spec(""), 8, {}, depth};
  o.instances.push_back(std::move(inst));
  auto b = DynamicBatcher::Create(std::move(o));
  ASSERT_TRUE(b.ok());
  std::promise<absl::StatusOr<core::InferResponse>> p;
  ++submitted;
  ASSERT_TRUE((*b)->Enqueue(Request(1, 1, &p)).ok());
  EXPECT_EQ(First(p.get_future().get()), 2);
  (*b)->Shutdown();
  EXPECT_EQ(depth->lowest.load(), 0);
  EXPECT_EQ(depth->violations.load(), 0);
  EXPECT_EQ(depth->depth.load(), 0);
}

TEST(DynamicBatcher, QueueDepthStaysWithinTheQueueUnderConcurrentTraffic) {
  std::atomic<int> submitted{0};
  auto depth = std::make_shared<DepthObserver>();
  depth->submitted = &submitted;
  DynamicBatcher::Options o{Spec("dynamic_batching { }"), 4096, {}, depth};
  for (int i = 0; i < 2; ++i) {
    auto inst = std::make_unique<FakeInstance>();
    depth->instances.push_back(inst.get());
    o.instances.push_back(std::move(inst));
  }
  auto b = DynamicBatcher::Create(std::move(o));
  ASSERT_TRUE(b.ok());
  constexpr int kThreads = 4, kPerThread = 300;
  std::vector<std::promise<absl::StatusOr<core::InferResponse>>> p(kThreads * kPerThread);
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        auto r = Request(n, 1, &p[n]);
        if (n % 3 == 0) r->deadline = r->arrival;  // some expire in the queue
        ++submitted;
        ASSERT_TRUE((*b)->Enqueue(std::move(r)).ok());
      }
    });
  }
  for (std::thread& c : clients) c.join();
  int ok = 0, expired = 0;
  for (auto& q : p) {
    auto r = q.get_future().get();
    if (r.ok()) ++ok;
    if (r.status().code() == absl::StatusCode::kDeadlineExceeded) ++expired;
  }
  (*b)->Shutdown();
  EXPECT_EQ(ok + expired, kThreads * kPerThread);
  EXPECT_EQ(expired, kThreads * kPerThread / 3);
  EXPECT_EQ(depth->violations.load(), 0);
  EXPECT_EQ(depth->lowest.load(), 0);
  EXPECT_EQ(depth->depth.load(), 0);
  EXPECT_EQ((*b)->QueueDepth(), 0);
}

// Triton: without dynamic_batching a model runs each request as it came
// (the client batches); with it, queued requests are merged.
TEST(DynamicBatcher, WithoutDynamicBatchingEachExecutionHoldsOneRequest) {
  for (const bool dynamic : {false, true}) {
    SCOPED_TRACE(dynamic ? "dynamic_batching" : "no dynamic_batching");
    auto inst = std::make_unique<FakeInstance>();
    FakeInstance* fake = inst.get();
    absl::Notification gate;
    fake->gate = &gate;
    DynamicBatcher::Options o{Spec(dynamic ? "dynamic_batching { }" : ""), 16, {}, nullptr};
    o.instances.push_back(std::move(inst));
    auto b = DynamicBatcher::Create(std::move(o));
    ASSERT_TRUE(b.ok());
    std::promise<absl::StatusOr<core::InferResponse>> first, p[8];
    ASSERT_TRUE((*b)->Enqueue(Request(100, 1, &first)).ok());
    while (fake->started.load() != 1) absl::SleepFor(absl::Milliseconds(1));
    for (int i = 0; i < 8; ++i) {
      auto r = Request(i, 1, &p[i]);
      r->batch_size = i % 2 ? 2 : 1;  // 12 rows in all: more than max_batch_size 8
      ASSERT_TRUE((*b)->Enqueue(std::move(r)).ok());
    }
    EXPECT_EQ((*b)->QueueDepth(), 8);
    gate.Notify();
    EXPECT_EQ(First(first.get_future().get()), 200);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(First(p[i].get_future().get()), 2 * i);
    (*b)->Shutdown();
    if (dynamic) {
      // Rows 1+2+1+2+1 = 7 fit in 8; the sixth's 2 would not.
      EXPECT_EQ(fake->batches, (std::vector<int>{1, 5, 3}));
    } else {
      EXPECT_EQ(fake->batches, (std::vector<int>{1, 1, 1, 1, 1, 1, 1, 1, 1}));
    }
  }
}

TEST(DynamicBatcher, RequestsWhoseClientHasGoneAreAnsweredWithoutRunning) {
  auto inst = std::make_unique<FakeInstance>();
  FakeInstance* fake = inst.get();
  absl::Notification gate;
  fake->gate = &gate;
  auto depth = std::make_shared<DepthObserver>();
  std::atomic<int> submitted{3};
  depth->submitted = &submitted;
  depth->instances = {fake};
  DynamicBatcher::Options o{Spec("dynamic_batching { }"), 8, {}, depth};
  o.instances.push_back(std::move(inst));
  auto b = DynamicBatcher::Create(std::move(o));
  ASSERT_TRUE(b.ok());
  std::promise<absl::StatusOr<core::InferResponse>> p[3];
  ASSERT_TRUE((*b)->Enqueue(Request(1, 1, &p[0])).ok());
  while (fake->started.load() != 1) absl::SleepFor(absl::Milliseconds(1));
  std::atomic<bool> gone{false};
  auto cancelled = Request(2, 1, &p[1]);
  cancelled->request.cancelled = [&gone] { return gone.load(); };
  ASSERT_TRUE((*b)->Enqueue(std::move(cancelled)).ok());
  auto stays = Request(3, 1, &p[2]);
  stays->request.cancelled = [] { return false; };
  ASSERT_TRUE((*b)->Enqueue(std::move(stays)).ok());
  gone = true;  // the client of the first queued request hangs up
  gate.Notify();
  EXPECT_EQ(First(p[0].get_future().get()), 2);
  auto r1 = p[1].get_future().get();
  EXPECT_EQ(r1.status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(
      absl::StartsWith(r1.status().message(), "request cancelled by the client after waiting "))
      << r1.status();
  EXPECT_EQ(First(p[2].get_future().get()), 6);
  (*b)->Shutdown();
  EXPECT_EQ(fake->batches, (std::vector<int>{1, 1}));
  EXPECT_EQ(depth->depth.load(), 0);
  EXPECT_EQ(depth->violations.load(), 0);
}

}  // namespace
}  // namespace tide::batching
