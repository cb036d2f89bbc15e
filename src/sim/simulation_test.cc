#include "sim/simulation.h"

#include "autoscaler/hpa_spec.h"
#include "gtest/gtest.h"
#include "sim/report.h"
#include "sim/svg_report.h"

namespace tide::sim {
namespace {

SimOptions OneInstanceNoBatching(double service_ms) {
  SimOptions o;
  o.pod.instances = 1;
  o.pod.batching.max_batch_size = 0;
  o.pod.service.compute_ms = service_ms;
  o.pod.service.per_item_ms = 0;
  o.metrics.latency_buckets_s = {0.1, 0.25, 0.5, 1, 2.5};
  return o;
}

PolicySpec Fixed(int n) {
  PolicySpec p;
  p.kind = PolicySpec::Kind::kFixed;
  p.name = absl::StrCat("fixed-", n);
  p.fixed_replicas = n;
  return p;
}

TEST(Simulate, UnloadedReplicaNeverWaits) {
  SimOptions o = OneInstanceNoBatching(10);
  o.horizon = 10 * kNanosPerSecond;
  workload::ConstantArrivals arrivals(50);
  auto r = Simulate(o, Fixed(1), &arrivals);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->requests, 500u);
  EXPECT_EQ(r->completed, 500u);
  EXPECT_EQ(r->rejected, 0u);
  EXPECT_EQ(r->latency_p50_s, 0.01);
  EXPECT_EQ(r->latency_max_s, 0.01);
  EXPECT_DOUBLE_EQ(r->latency_mean_s, 0.01);
  EXPECT_EQ(r->wait_mean_s, 0);
  EXPECT_EQ(r->wait_p_positive, 0);
  EXPECT_EQ(r->slo_attainment, 1);
  EXPECT_EQ(r->replica_seconds, 10);
  EXPECT_EQ(r->replicas_mean, 1);
  EXPECT_EQ(r->replicas_max, 1);
  ASSERT_EQ(r->timeline.size(), 10u);
  EXPECT_EQ(r->timeline[3].arrivals, 50u);
  EXPECT_EQ(r->timeline[3].completed, 50u);
}

// Worked by hand: arrivals every 50 ms from 0 to 950 ms, 200 ms of service,
// at most 2 waiting. r0 runs 0-200; r1 (50) and r2 (100) queue; r3 (150) is
// refused; at 200 r1 starts and r4 (200, after the completion) queues; r5-r7
// are refused; and so on: every 200 ms one starts and one more is taken.
// Accepted: r0 r1 r2 r4 r8 r12 r16, finishing at 200, 400, ..., 1400 ms.
TEST(Simulate, FullQueueRefusesAsWorkedByHand) {
  SimOptions o = OneInstanceNoBatching(200);
  o.pod.max_queue_size = 2;
  o.horizon = kNanosPerSecond;
  workload::ConstantArrivals arrivals(20);
  auto r = Simulate(o, Fixed(1), &arrivals);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->requests, 20u);
  EXPECT_EQ(r->completed, 7u);
  EXPECT_EQ(r->rejected, 13u);
  // Waits 0, 150, 300, 400, 400, 400, 400 ms.
  EXPECT_NEAR(r->wait_mean_s, 2.050 / 7, 1e-12);
  EXPECT_NEAR(r->wait_p_positive, 6.0 / 7, 1e-12);
  // Latencies 200, 350, 500, 600 x4 ms: three within a 500 ms SLO.
  EXPECT_EQ(r->slo_attainment, 3.0 / 20);
  EXPECT_NEAR(r->latency_mean_s, 3.45 / 7, 1e-12);
  EXPECT_EQ(r->replica_seconds, 1);
}

TEST(Simulate, RefusesAnHpaTheApiServerWould) {
  auto specs = autoscaler::HpaSpecsFromYaml("spec:\n  maxReplicas: 0\n");
  ASSERT_TRUE(specs.ok());
  PolicySpec p;
  p.kind = PolicySpec::Kind::kHpa;
  p.hpa = (*specs)[0];
  SimOptions o = OneInstanceNoBatching(10);
  workload::ConstantArrivals arrivals(10);
  auto r = Simulate(o, p, &arrivals);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("spec.maxReplicas: Invalid value: 0"), std::string::npos)
      << r.status();
}

std::vector<PolicyResult> RunThree(uint64_t seed) {
  SimOptions o = OneInstanceNoBatching(50);
  o.pod.service.distribution = backends::ServiceTimeDistribution::kExponential;
  o.seed = seed;
  o.horizon = 600 * kNanosPerSecond;
  auto specs = autoscaler::HpaSpecsFromYaml(
      "spec:\n  minReplicas: 1\n  maxReplicas: 10\n  metrics:\n  - type: Resource\n"
      "    resource:\n      name: cpu\n      target:\n        type: Utilization\n"
      "        averageUtilization: 50\n");
  PolicySpec hpa;
  hpa.kind = PolicySpec::Kind::kHpa;
  hpa.name = "cpu-50";
  hpa.hpa = (*specs)[0];
  PolicySpec kpa;
  kpa.kind = PolicySpec::Kind::kKnative;
  kpa.name = "knative";
  kpa.knative.target_concurrency = 2;
  std::vector<PolicyResult> out;
  for (const PolicySpec& p : {Fixed(3), hpa, kpa}) {
    workload::PoissonArrivals arrivals(40, seed);
    auto r = Simulate(o, p, &arrivals);
    EXPECT_TRUE(r.ok()) << r.status();
    out.push_back(*r);
  }
  return out;
}

TEST(Simulate, SameInputsAndSeedGiveByteIdenticalOutputs) {
  std::vector<PolicyResult> a = RunThree(7), b = RunThree(7), c = RunThree(8);
  EXPECT_EQ(ResultsJson(a, 0), ResultsJson(b, 0));
  EXPECT_EQ(TimelineCsv(a), TimelineCsv(b));
  EXPECT_EQ(SvgReport(a, 0.5, "t"), SvgReport(b, 0.5, "t"));
  EXPECT_EQ(ResultsTable(a, 0.5), ResultsTable(b, 0.5));
  EXPECT_NE(ResultsJson(a, 0), ResultsJson(c, 0));
  // The policies saw the same arrivals.
  EXPECT_EQ(a[0].requests, a[1].requests);
  EXPECT_EQ(a[0].requests, a[2].requests);
  // 40 req/s x 50 ms = 2 busy cores: the CPU HPA at 50 % settles near 4.
  EXPECT_GT(a[1].replicas_max, 1);
  EXPECT_GT(a[1].scale_ups, 0);
}

}  // namespace
}  // namespace tide::sim
