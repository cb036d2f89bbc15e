#include "core/inference_service.h"

#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "core/model_config.h"
#include "gtest/gtest.h"

namespace tide::core {
namespace {

constexpr absl::Duration kSoon = absl::Seconds(10);  // real time; a bound, not a sleep

// Holds every request until the test completes them.
class HoldingScheduler final : public Scheduler {
 public:
  absl::Status Enqueue(std::unique_ptr<PendingRequest> request) override {
    absl::MutexLock lock(&mu_);
    held_.push_back(std::move(request));
    return absl::OkStatus();
  }
  void Shutdown() override {}
  int64_t QueueDepth() const override {
    absl::MutexLock lock(&mu_);
    return static_cast<int64_t>(held_.size());
  }
  void CompleteAll() {
    std::vector<std::unique_ptr<PendingRequest>> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (auto& r : held) r->done(InferResponse{});
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<PendingRequest>> held_ ABSL_GUARDED_BY(mu_);
};

// A service on a manual clock with one model whose requests stay in flight
// until CompleteAll().
class WaitIdleTest : public ::testing::Test {
 protected:
  WaitIdleTest() {
    auto spec = ParseModelConfig(
        "backend: \"simulated\" max_batch_size: 8"
        " input { name: \"IN\" data_type: TYPE_INT32 dims: [ 4 ] }"
        " output { name: \"OUT\" data_type: TYPE_INT32 dims: [ 4 ] }",
        "m/config.pbtxt", "m");
    EXPECT_TRUE(spec.ok()) << spec.status();
    auto model = std::make_shared<LoadedModel>();
    model->spec = *std::move(spec);
    auto scheduler = std::make_unique<HoldingScheduler>();
    scheduler_ = scheduler.get();
    model->scheduler = std::move(scheduler);
    model->ready = true;
    service_.SetModels({model}, {});
  }
  ~WaitIdleTest() override { scheduler_->CompleteAll(); }

  void SendOne() {
    InferRequest r;
    r.model_name = "m";
    r.inputs = {Tensor{"IN", DataType::kInt32, {1, 4}, std::string(16, '\0')}};
    service_.Infer(std::move(r), [](absl::StatusOr<InferResponse>) {});
  }

  common::ManualClock clock_{absl::FromUnixSeconds(1000)};
  InferenceService service_{{.clock = &clock_}};
  HoldingScheduler* scheduler_ = nullptr;
};

TEST_F(WaitIdleTest, ModelReadyAnswersEachKindOfVersion) {
  for (const char* v : {"", "1"}) {
    auto ready = service_.ModelReady("m", v);
    ASSERT_TRUE(ready.ok()) << ready.status();
    EXPECT_TRUE(*ready);
  }
  auto absent = service_.ModelReady("m", "2");
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(absent.status().message(), "model 'm' has no version 2");
  // Not a version number: the request is wrong, whatever the model's state.
  for (const char* bad : {"abc", "1x", "99999999999999999999"}) {
    auto r = service_.ModelReady("m", bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(r.status().message(), absl::StrCat("model version '", bad, "' is not a number"));
  }
  EXPECT_EQ(service_.ModelReady("nope", "").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WaitIdleTest, TrueWhenTheLastRequestFinishesBeforeTheTimeout) {
  SendOne();
  SendOne();
  ASSERT_EQ(service_.InFlight(), 2);
  bool idle = false;
  std::thread drain([&] { idle = service_.WaitIdle(absl::Seconds(30)); });
  EXPECT_TRUE(clock_.AwaitWaiters(1, kSoon));
  clock_.Advance(absl::Seconds(29));
  EXPECT_EQ(clock_.Waiters(), 1);  // still waiting: 1 s of the timeout left
  scheduler_->CompleteAll();
  drain.join();
  EXPECT_TRUE(idle);
  EXPECT_EQ(service_.InFlight(), 0);
}

TEST_F(WaitIdleTest, FalseWhenTheClockPassesTheTimeout) {
  SendOne();
  bool idle = true;
  std::thread drain([&] { idle = service_.WaitIdle(absl::Seconds(30)); });
  EXPECT_TRUE(clock_.AwaitWaiters(1, kSoon));
  clock_.Advance(absl::Seconds(30));
  drain.join();
  EXPECT_FALSE(idle);
  EXPECT_EQ(service_.InFlight(), 1);
}

TEST_F(WaitIdleTest, TrueAtOnceWhenNothingIsInFlight) {
  EXPECT_TRUE(service_.WaitIdle(absl::Seconds(30)));
  EXPECT_EQ(clock_.Waiters(), 0);
  EXPECT_EQ(clock_.Now(), absl::FromUnixSeconds(1000));
}

}  // namespace
}  // namespace tide::core
