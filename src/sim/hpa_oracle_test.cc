// The HPA as the oracle: a step in load against replicas of known capacity,
// and the replica timeline the Kubernetes rules give, worked out by hand.
//
// Set-up: each replica serves one request at a time in exactly 100 ms
// (capacity 10 req/s, 1 core busy = 100 % of a 1-core request); a queue of
// 1, so an overloaded replica is simply 100 % busy; round-robin balancing of
// evenly spaced arrivals, so the load splits exactly; pods ready the moment
// they are created. metrics-server scrapes every 15 s just before the HPA's
// sync (both at 0, 15, 30, ... s), so at t the HPA sees each pod's CPU over
// [t-15, t]. The HPA is the seed's CPU HPA (deploy/k8s/overlays/hpa-cpu):
// target 50 %, min 1, max 10, tolerance 0.1, scale-up by max(100 %, 4 pods)
// per 15 s with no stabilization, scale-down stabilized over 300 s.
//
// Load: 4 req/s until 60 s, 24 req/s from 60 s to 300 s, 4 req/s after.
//
//  t = 0     sample over [-15, 0]: 0 %  -> ceil(1 x 0/50) = 0, min 1: stays 1
//  t = 15-60 1 pod at 4/s: 40 %; ratio 0.8, outside the tolerance, but
//            ceil(1 x 0.8) = 1: stays 1
//  t = 75    [60, 75]: 1 pod offered 24/s: 100 % -> ceil(1 x 2) = 2; the
//            scale-up limit is max(1 x 2, 1 + 4) = 5: scale to 2 (up #1)
//  t = 90    [75, 90]: 2 pods at 12/s each, both saturated: 100 %, less
//            the new pod's wait for its first request (< 1/24 s), so the
//            integer utilization is 99 (the new pod's sample, taken at 90, is
//            not before its Ready time 75 + the 15 s window, so it counts)
//            -> ceil(2 x 99/50) = ceil(3.96) = 4; the event at
//            75 is not after 90 - 15, so the limit is max(4, 6): scale to 4 (up #2)
//  t = 105   [90, 105]: 4 pods at 6/s: 60 % -> ceil(4 x 1.2) = 5 (up #3)
//  t = 120-300 5 pods at 4.8/s: 48 %, ratio 0.96, within tolerance: stays 5
//            (the recommendation recorded is 5 each time)
//  t = 315-585 5 pods at 0.8/s: 8 % -> ceil(5 x 0.16) = 1, but scale-down
//            is stabilized: the largest recommendation after t - 300 s
//            includes t = 300's 5: stays 5
//  t = 600   the recommendations after 300 are all 1: scale to 1 (down #1);
//            scale-down policy 100 % per 15 s allows it
//  t = 615-  1 pod at 4/s: 40 %: stays 1

#include "gtest/gtest.h"
#include "sim/simulation.h"

namespace tide::sim {
namespace {

constexpr char kSeedCpuHpa[] = R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: tide
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: tide}
  minReplicas: 1
  maxReplicas: 10
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: 50}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
        - {type: Percent, value: 100, periodSeconds: 15}
        - {type: Pods, value: 4, periodSeconds: 15}
      selectPolicy: Max
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - {type: Percent, value: 100, periodSeconds: 15}
)";

std::vector<absl::Duration> StepArrivals() {
  std::vector<absl::Duration> out;
  auto add = [&](double from, double to, double rate) {
    for (int64_t k = 0;; ++k) {
      double t = from + static_cast<double>(k) / rate;
      if (t >= to) break;
      out.push_back(absl::Nanoseconds(static_cast<int64_t>(std::llround(t * 1e9))));
    }
  };
  add(0, 60, 4);
  add(60, 300, 24);
  add(300, 700, 4);
  return out;
}

TEST(HpaOracle, StepTraceGivesTheReplicaTimelineWorkedOutByHand) {
  SimOptions o;
  o.pod.instances = 1;
  o.pod.batching.max_batch_size = 0;
  o.pod.max_queue_size = 1;
  o.pod.service.compute_ms = 100;
  o.pod.service.per_item_ms = 0;
  o.pod.cpu_request_cores = 1;
  o.cluster.balance = Balance::kRoundRobin;
  o.metrics.latency_buckets_s = {0.1, 1};
  o.horizon = 700 * kNanosPerSecond;
  auto specs = autoscaler::HpaSpecsFromYaml(kSeedCpuHpa);
  ASSERT_TRUE(specs.ok()) << specs.status();
  PolicySpec p;
  p.kind = PolicySpec::Kind::kHpa;
  p.name = "cpu";
  p.hpa = (*specs)[0];
  workload::ListArrivals arrivals(
      std::make_shared<const std::vector<absl::Duration>>(StepArrivals()));
  auto r = Simulate(o, p, &arrivals);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->timeline.size(), 700u);
  // The desired replicas at the end of each second, as changes.
  std::vector<std::pair<int64_t, int32_t>> changes;
  int32_t last = -1;
  for (const TimelineRow& row : r->timeline) {
    if (row.desired != last) changes.push_back({row.second, row.desired});
    last = row.desired;
  }
  // Row s covers [s, s+1): a scale at t = 75 shows from row 75 on.
  EXPECT_EQ(changes, (std::vector<std::pair<int64_t, int32_t>>{
                         {0, 1}, {75, 2}, {90, 4}, {105, 5}, {600, 1}}));
  EXPECT_EQ(r->scale_ups, 3);
  EXPECT_EQ(r->scale_downs, 1);
  EXPECT_EQ(r->replicas_max, 5);
  // What the HPA saw (utilization %), at the syncs that decided.
  EXPECT_EQ(r->timeline[74].seen[0], 40);   // seen at t = 60
  EXPECT_EQ(r->timeline[75].seen[0], 100);  // seen at t = 75
  EXPECT_EQ(r->timeline[90].seen[0], 99);
  EXPECT_EQ(r->timeline[105].seen[0], 60);
  EXPECT_EQ(r->timeline[120].seen[0], 48);
  EXPECT_EQ(r->timeline[315].seen[0], 8);
}

}  // namespace
}  // namespace tide::sim
