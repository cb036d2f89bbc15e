#include "sim/cluster.h"

#include "gtest/gtest.h"

namespace tide::sim {
namespace {

constexpr Nanos kS = kNanosPerSecond;

class ClusterTest : public ::testing::Test {
 protected:
  ClusterTest() : recorder_(o_.slo_latency, {0.1}) {
    o_.pod.batching.max_batch_size = 0;
    o_.pod.service.compute_ms = 1000;
    o_.pod.service.per_item_ms = 0;
  }
  Cluster& Make() {
    cluster_ = std::make_unique<Cluster>(&o_, &events_, &recorder_);
    return *cluster_;
  }
  void RunUntil(Nanos t) {
    while (events_.NextTime() <= t) {
      Event e = events_.Pop();
      cluster_->set_now(e.time);
      cluster_->OnPodEvent(e);
    }
    cluster_->set_now(t);
  }
  std::vector<std::string> Live() const {
    std::vector<std::string> out;
    for (const Pod* p : cluster_->live()) out.push_back(p->name());
    return out;
  }

  SimOptions o_;
  EventQueue events_;
  Recorder recorder_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(ClusterTest, NewPodsAreReadyAfterStartupAndReadinessDelay) {
  o_.cluster.startup = *ParseDurationDistribution("20");
  o_.cluster.readiness_delay = 2 * kS;
  Cluster& c = Make();
  c.StartReady(1);
  RunUntil(10 * kS);
  ASSERT_TRUE(c.SetReplicas(3).ok());
  EXPECT_EQ(c.GetScale()->spec_replicas, 3);
  EXPECT_EQ(c.GetScale()->status_replicas, 3);
  RunUntil(30 * kS);
  EXPECT_EQ(c.ready_count(), 1);
  EXPECT_EQ(c.live()[1]->state(), Pod::State::kStarting);  // started at 30 s
  RunUntil(32 * kS - 1);
  EXPECT_EQ(c.ready_count(), 1);
  RunUntil(32 * kS);
  EXPECT_EQ(c.ready_count(), 3);
  EXPECT_EQ(c.scale_ups(), 1);
  c.AccountUntil(40 * kS);
  EXPECT_EQ(c.replica_seconds(), 40 + 2 * 30);
}

// ReplicaSet order: not ready before ready, newest ready first, then newer.
TEST_F(ClusterTest, VictimsAreChosenAsAReplicaSetDoes) {
  o_.cluster.startup = *ParseDurationDistribution("10");
  o_.cluster.readiness_delay = 2 * kS;
  Cluster& c = Make();
  c.StartReady(2);                     // tide-0, tide-1
  ASSERT_TRUE(c.SetReplicas(4).ok());  // tide-2, tide-3: ready at 12 s
  RunUntil(11 * kS);
  ASSERT_TRUE(c.SetReplicas(3).ok());  // both starting: the newer goes
  EXPECT_EQ(Live(), (std::vector<std::string>{"tide-0", "tide-1", "tide-2"}));
  RunUntil(20 * kS);
  ASSERT_TRUE(c.SetReplicas(1).ok());  // tide-2 ready for less time; then the newer of 0 and 1
  EXPECT_EQ(Live(), (std::vector<std::string>{"tide-0"}));
  EXPECT_EQ(c.scale_downs(), 2);
}

TEST_F(ClusterTest, DeletedPodDrainsWithinTheGracePeriod) {
  o_.cluster.termination_grace = 1500 * kS / 1000;
  Cluster& c = Make();
  c.StartReady(1);
  for (int i = 0; i < 3; ++i) c.Route(0);  // one runs until 1 s, two wait
  ASSERT_TRUE(c.SetReplicas(0).ok());
  EXPECT_EQ(c.ready_count(), 0);
  EXPECT_EQ(c.live_count(), 1);  // terminating: still paid for
  c.Route(0);                    // no ready pod: refused
  RunUntil(10 * kS);
  EXPECT_EQ(recorder_.completed(), 1u);  // at 1 s; the second runs 1-2 s, killed at 1.5 s
  EXPECT_EQ(recorder_.dropped(), 2u);
  EXPECT_EQ(recorder_.rejected(), 1u);
  EXPECT_EQ(c.live_count(), 0);
  c.AccountUntil(10 * kS);
  EXPECT_EQ(c.replica_seconds(), 1.5);
}

TEST_F(ClusterTest, DrainFinishesEverythingWhenTheGracePeriodAllows) {
  o_.cluster.termination_grace = 10 * kS;
  Cluster& c = Make();
  c.StartReady(1);
  for (int i = 0; i < 3; ++i) c.Route(0);
  ASSERT_TRUE(c.SetReplicas(0).ok());
  RunUntil(20 * kS);
  EXPECT_EQ(recorder_.completed(), 3u);
  EXPECT_EQ(recorder_.dropped(), 0u);
  c.AccountUntil(20 * kS);
  EXPECT_EQ(c.replica_seconds(), 3);  // gone when its queue emptied
}

TEST_F(ClusterTest, RoundRobinSplitsEvenly) {
  o_.cluster.balance = Balance::kRoundRobin;
  o_.pod.max_queue_size = 1000;
  Cluster& c = Make();
  c.StartReady(3);
  for (int i = 0; i < 30; ++i) c.Route(0);
  for (const Pod* p : c.live()) EXPECT_EQ(p->outstanding(), 10);
}

TEST_F(ClusterTest, LeastOutstandingAvoidsTheBusiestPod) {
  o_.cluster.balance = Balance::kLeastOutstanding;
  o_.pod.max_queue_size = 1000;
  Cluster& c = Make();
  c.StartReady(2);
  for (int i = 0; i < 100; ++i) c.Route(0);
  // Two choices among two pods: always the less loaded one.
  EXPECT_EQ(c.live()[0]->outstanding(), 50);
  EXPECT_EQ(c.live()[1]->outstanding(), 50);
}

}  // namespace
}  // namespace tide::sim
