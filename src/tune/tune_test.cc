#include "tune/tune.h"

#include <gtest/gtest.h>

#include "autoscaler/hpa_spec.h"
#include "workload/arrivals.h"

namespace tide::tune {
namespace {

// A constant 25 req/s, round-robin over replicas that serve one request at a
// time in exactly 100 ms: 3 replicas each get one request every 120 ms and
// never queue (latency 100 ms, inside a 200 ms SLO); 2 get one every 80 ms and
// overload. Exactly 3 replicas meet the SLO, by construction.
TuneOptions ConstantRateOptions() {
  TuneOptions o;
  o.sim.pod.instances = 1;
  o.sim.pod.service.compute_ms = 100;
  o.sim.pod.service.per_item_ms = 0;
  o.sim.pod.service.distribution = backends::ServiceTimeDistribution::kFixed;
  o.sim.pod.max_queue_size = 256;
  o.sim.cluster.balance = sim::Balance::kRoundRobin;
  o.sim.cluster.startup = sim::DurationDistribution{sim::DurationDistribution::Kind::kFixed, 30, 0};
  o.sim.slo_latency = 200'000'000;
  o.sim.horizon = 300 * sim::kNanosPerSecond;
  o.slo_attainment = 0.999;
  o.max_replicas = 8;
  // A smaller space keeps the test in seconds; the search is the same.
  o.cpu_targets = {50, 90};
  o.queue_targets = {1, 4};
  o.p99_fractions = {0.5};
  o.up_windows = {0, 60};
  o.up_percents = {100};
  o.down_windows = {60, 300};
  o.down_percents = {100};
  o.keep = 2;
  return o;
}

TEST(TuneTest, ConstantRateFindsExactlyTheReplicasThatMeetTheSlo) {
  workload::ConstantArrivals arrivals(25);
  auto r = Tune(ConstantRateOptions(), arrivals);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->met);
  ASSERT_GE(r->cheapest_fixed, 0);
  EXPECT_EQ(r->evaluations[r->cheapest_fixed].fixed_replicas, 3);
  const Evaluation& best = r->evaluations[r->best];
  EXPECT_FALSE(best.is_fixed);
  EXPECT_EQ(best.candidate.min_replicas, 3);
  EXPECT_EQ(best.result.replicas_max, 3);
  EXPECT_DOUBLE_EQ(best.result.replicas_mean, 3.0);
  EXPECT_DOUBLE_EQ(best.result.replica_seconds, 900.0);
  EXPECT_EQ(best.result.slo_attainment, 1.0);
  EXPECT_EQ(best.result.scale_ups + best.result.scale_downs, 0);
  // Two replicas do not meet it; the bisection saw that.
  bool saw_two = false;
  for (const Evaluation& e : r->evaluations) {
    if (e.is_fixed && e.fixed_replicas == 2) {
      saw_two = true;
      EXPECT_FALSE(e.meets);
    }
  }
  EXPECT_TRUE(saw_two);
}

TEST(TuneTest, DeterministicWhateverTheThreads) {
  workload::ConstantArrivals arrivals(25);
  TuneOptions one = ConstantRateOptions();
  TuneOptions two = one;
  two.jobs = 2;
  auto a = Tune(one, arrivals);
  auto b = Tune(two, arrivals);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->evaluations.size(), b->evaluations.size());
  for (size_t i = 0; i < a->evaluations.size(); ++i) {
    EXPECT_EQ(a->evaluations[i].name, b->evaluations[i].name);
    EXPECT_EQ(a->evaluations[i].result.replica_seconds, b->evaluations[i].result.replica_seconds);
    EXPECT_EQ(a->evaluations[i].result.slo_attainment, b->evaluations[i].result.slo_attainment);
  }
  EXPECT_EQ(a->best, b->best);
}

TEST(TuneTest, NoneMeetsTheSloSaysSoWithTheBestFound) {
  workload::ConstantArrivals arrivals(25);
  TuneOptions o = ConstantRateOptions();
  o.max_replicas = 2;  // 3 are needed
  auto r = Tune(o, arrivals);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->met);
  EXPECT_EQ(r->cheapest_fixed, -1);
  ASSERT_GE(r->best, 0);
  EXPECT_LT(r->evaluations[r->best].result.slo_attainment, 0.999);
}

TEST(TuneTest, BadOptionsAreRefused) {
  workload::ConstantArrivals arrivals(25);
  TuneOptions o = ConstantRateOptions();
  o.slo_attainment = 1.5;
  EXPECT_EQ(Tune(o, arrivals).status().message(), "--slo-attainment must be in (0, 1]");
  o = ConstantRateOptions();
  o.max_replicas = 0;
  EXPECT_EQ(Tune(o, arrivals).status().message(), "--max-replicas must be >= 1");
  o = ConstantRateOptions();
  o.cpu_targets = {55.5};
  EXPECT_EQ(Tune(o, arrivals).status().message(),
            "--cpu-targets: utilization is a whole percentage");
  o = ConstantRateOptions();
  o.down_windows = {-1};
  EXPECT_EQ(Tune(o, arrivals).status().message(), "stabilization windows must be in [0, 3600] s");
  EXPECT_EQ(ParseMetric("memory").status().message(),
            "unknown metric 'memory': cpu, queue-depth or p99");
}

TEST(TuneTest, EveryCandidateSpecValidates) {
  Candidate c;
  for (Metric m : {Metric::kCpu, Metric::kQueueDepth, Metric::kP99}) {
    c.metric = m;
    c.target = m == Metric::kCpu ? 70 : 0.5;
    autoscaler::HpaSpec spec = ToHpaSpec(c, "simulated");
    EXPECT_TRUE(autoscaler::Validate(spec, {}).empty()) << Describe(c);
  }
  c.metric = Metric::kQueueDepth;
  c.target = 0.5;
  EXPECT_EQ(TargetQuantity(c), "500m");
  EXPECT_EQ(Describe(c), "queue-depth 0.5, min 1, up 0s/100%, down 300s/100%");
}

TEST(TuneTest, ParetoFrontKeepsOnlyUndominatedHpas) {
  std::vector<Evaluation> e(4);
  e[0].result.replica_seconds = 100;
  e[0].result.slo_attainment = 0.9;
  e[1].result.replica_seconds = 200;
  e[1].result.slo_attainment = 0.85;  // dominated by 0
  e[2].result.replica_seconds = 300;
  e[2].result.slo_attainment = 0.99;
  e[3].is_fixed = true;  // not an HPA
  e[3].result.replica_seconds = 50;
  e[3].result.slo_attainment = 1;
  EXPECT_EQ(ParetoFront(e), (std::vector<int>{0, 2}));
}

}  // namespace
}  // namespace tide::tune
