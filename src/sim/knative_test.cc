#include "sim/knative.h"

#include "gtest/gtest.h"

namespace tide::sim {
namespace {

constexpr Nanos kS = kNanosPerSecond;

class KnativeTest : public ::testing::Test {
 protected:
  KnativeTest() : recorder_(o_.slo_latency, {0.1}) {
    o_.pod.batching.max_batch_size = 0;
    o_.pod.service.compute_ms = 1e6;  // requests stay in flight
    o_.pod.service.per_item_ms = 0;
    o_.pod.max_queue_size = 1000;
    cluster_ = std::make_unique<Cluster>(&o_, &events_, &recorder_);
    cluster_->StartReady(1);
    spec_.target_concurrency = 10;
    spec_.target_utilization = 1.0;
  }
  SimOptions o_;
  EventQueue events_;
  Recorder recorder_;
  std::unique_ptr<Cluster> cluster_;
  KnativeSpec spec_;
};

// 35 in flight on 1 pod, target 10: desired ceil(35 / 10) = 4, and 4 / 1 >= 200 %: panic.
TEST_F(KnativeTest, PanicsWhenThePanicWindowWantsTwiceTheReadyPods) {
  KnativeScaler k(spec_, cluster_.get());
  for (int i = 0; i < 35; ++i) cluster_->Route(0);
  for (int s = 1; s <= 6; ++s) k.SampleSecond(s * kS);
  cluster_->set_now(6 * kS);
  k.Tick(6 * kS);
  EXPECT_TRUE(k.panicking());
  EXPECT_EQ(cluster_->desired(), 4);
  EXPECT_DOUBLE_EQ(k.panic_concurrency(), 35);
  EXPECT_DOUBLE_EQ(k.stable_concurrency(), 35);
}

TEST_F(KnativeTest, ScaleUpIsBoundedByTheMaxScaleUpRate) {
  spec_.max_scale_up_rate = 2;
  KnativeScaler k(spec_, cluster_.get());
  for (int i = 0; i < 35; ++i) cluster_->Route(0);
  k.SampleSecond(kS);
  k.Tick(kS);
  EXPECT_EQ(cluster_->desired(), 2);  // ceil(2 x 1 ready pod)
}

TEST_F(KnativeTest, ScalesToZeroOnlyAfterTheGracePeriodWithoutTraffic) {
  KnativeScaler k(spec_, cluster_.get());
  for (int s = 1; s <= 40; ++s) {
    k.SampleSecond(s * kS);
    if (s % 2 == 0) {
      cluster_->set_now(s * kS);
      k.Tick(s * kS);
      EXPECT_EQ(cluster_->desired(), s < 30 ? 1 : 0) << s;
    }
  }
}

}  // namespace
}  // namespace tide::sim
