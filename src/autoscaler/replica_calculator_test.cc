// Table tests of the per-metric calculations. Every expected number is worked
// out from the rules in the comment next to it, not by running the code.

#include "autoscaler/replica_calculator.h"

#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tide::autoscaler {
namespace {

constexpr int32_t kMaxInt32 = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

CalculatorParams Params(Tolerances t = {}) {
  CalculatorParams p;
  p.tolerances = t;
  p.cpu_initialization_period = absl::Minutes(2);
  p.delay_of_initial_readiness_status = absl::Seconds(10);
  p.now = kNow;
  return p;
}

// n running, ready pods started long ago, each with one container requesting
// `request_milli` of cpu; `usage` holds the cpu samples (-1 = no sample).
Snapshot CpuSnapshot(std::vector<int64_t> requests, std::vector<int64_t> usage) {
  Snapshot s;
  s.current_replicas = static_cast<int32_t>(requests.size());
  s.status_replicas = s.current_replicas;
  PodSamples& samples = s.metrics.pod_metrics["cpu"];
  for (size_t i = 0; i < requests.size(); ++i) {
    PodInfo pod;
    pod.name = "pod-" + std::to_string(i);
    pod.ready = true;
    pod.start_time = absl::UnixEpoch();
    pod.containers.push_back({"c", {{"cpu", Quantity::FromMilli(requests[i])}}, ""});
    if (i < usage.size() && usage[i] >= 0)
      samples[pod.name] = Sample{usage[i], kNow, absl::Minutes(1)};
    s.pods.push_back(std::move(pod));
  }
  return s;
}

struct UtilCase {
  const char* name;
  std::vector<int64_t> requests;
  std::vector<int64_t> usage;
  std::vector<bool> ready;  // empty = all ready
  int32_t target;
  Tolerances tol;
  int32_t want_replicas;
  int32_t want_utilization;
  int64_t want_raw;
};

TEST(ReplicaCalculatorTest, ResourceUtilizationTable) {
  const std::vector<int64_t> r10(10, 1000);
  const UtilCase cases[] = {
      // util = 1500*100/3000 = 50%; ratio 50/30 = 1.667; ceil(1.667*3) = 5.
      {"scale up", {1000, 1000, 1000}, {300, 500, 700}, {}, 30, {}, 5, 50, 500},
      // util = 1400*100/5000 = 28%; ratio 0.56; ceil(0.56*5) = ceil(2.8) = 3.
      {"scale down",
       {1000, 1000, 1000, 1000, 1000},
       {100, 300, 500, 250, 250},
       {},
       50,
       {},
       3,
       28,
       280},
      // util exactly 90% of a 100% target: ratio 0.9 == 1 - 0.1, inside the band.
      {"lower tolerance edge inside", r10, std::vector<int64_t>(10, 900), {}, 100, {}, 10, 90, 900},
      // 89%: ratio 0.89 < 0.9; ceil(0.89*10) = 9.
      {"lower tolerance edge outside", r10, std::vector<int64_t>(10, 890), {}, 100, {}, 9, 89, 890},
      // 110%: ratio 1.1 == 1 + 0.1, inside (pre-1.33 |1-r| <= tol scaled to 12 here).
      {"upper tolerance edge inside",
       r10,
       std::vector<int64_t>(10, 1100),
       {},
       100,
       {},
       10,
       110,
       1100},
      // 111%: ceil(1.11*10) = ceil(11.100000000000001) = 12.
      {"upper tolerance edge outside",
       r10,
       std::vector<int64_t>(10, 1110),
       {},
       100,
       {},
       12,
       111,
       1110},
      // Per-direction tolerance: down 0.2 keeps 85%; up 0.05 lets 106% scale to ceil(10.6) = 11.
      {"scale-down tolerance 0.2",
       r10,
       std::vector<int64_t>(10, 850),
       {},
       100,
       {0.2, 0.05},
       10,
       85,
       850},
      {"scale-up tolerance 0.05",
       r10,
       std::vector<int64_t>(10, 1060),
       {},
       100,
       {0.2, 0.05},
       11,
       106,
       1060},
      // Zero tolerance: 101% -> ceil(1.01*3) = ceil(3.03) = 4.
      {"zero tolerance", {1000, 1000, 1000}, {1010, 1010, 1010}, {}, 100, {0, 0}, 4, 101, 1010},
      // Unready pod on a scale-up: the ready pods give 1200*100/2000 = 60% -> ratio 2.0 > 1, so
      // the unready pod is re-added at 0: 1200*100/3000 = 40% -> 1.333; ceil(1.333*3) = 4.
      {"unready pod rebalanced at 0 on scale up",
       {1000, 1000, 1000},
       {300, 500, 700},
       {false, true, true},
       30,
       {},
       4,
       60,
       600},
      // Unready pods are left out on a scale-down: 400*100/1000 = 40% -> ratio 0.8, outside the
      // band; one ready pod: ceil(0.8*1) = 1.
      {"unready pods excluded on scale down",
       {1000, 1000, 1000},
       {400, 500, 700},
       {true, false, false},
       50,
       {},
       1,
       40,
       400},
      // Missing pod on a scale-down counts at 100% of request: 450/1000 = 45% -> 0.9 (inside) but
      // missing pods force the slow path: (450+1000)*100/2000 = 72 -> 1.44 crosses 1 -> keep 3.
      {"missing pod would flip direction",
       {1000, 1000, 1000},
       {100, 450, -1},
       {false, true, true},
       50,
       {},
       3,
       45,
       450},
      // Missing pod on a scale-up counts at 0 and so does the unready one: 2000*100/1000 = 200%
      // -> ratio 4.0; then 2000*100/3000 = 66% -> 1.32; ceil(1.32*3) = ceil(3.96) = 4.
      {"missing pod at 0 on scale up",
       {1000, 1000, 1000},
       {100, 2000, -1},
       {false, true, true},
       50,
       {},
       4,
       200,
       2000},
  };
  for (const UtilCase& c : cases) {
    SCOPED_TRACE(c.name);
    Snapshot s = CpuSnapshot(c.requests, c.usage);
    for (size_t i = 0; i < c.ready.size(); ++i) s.pods[i].ready = c.ready[i];
    auto r = ResourceUtilizationReplicas(Params(c.tol), s.current_replicas, c.target, "cpu", "", s);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->replicas, c.want_replicas);
    EXPECT_EQ(r->utilization, c.want_utilization);
    EXPECT_EQ(r->raw_utilization, c.want_raw);
  }
}

TEST(ReplicaCalculatorTest, MissingPodsUseTargetAbove100Switch) {
  // Requests 2000, 2000, 4000, 4000; pod-0 unready, pod-3 missing; target 300%.
  // util = (200+200)*100/(2000+4000) = 6% -> 0.02.
  // new: missing pod at max(100,300)% of 4000 = 12000: (12400)*100/10000 = 124 -> 0.4133;
  //   ceil(0.4133*3) = 2.
  // old: missing pod at 100% = 4000: 4400*100/10000 = 44 -> 0.1467; ceil(0.44) = 1.
  Snapshot s = CpuSnapshot({2000, 2000, 4000, 4000}, {400, 200, 200, -1});
  s.pods[0].ready = false;
  CalculatorParams p = Params();
  auto now_rule = ResourceUtilizationReplicas(p, 4, 300, "cpu", "", s);
  ASSERT_TRUE(now_rule.ok());
  EXPECT_EQ(now_rule->replicas, 2);
  EXPECT_EQ(now_rule->utilization, 6);
  p.missing_pods_use_target_above_100 = false;
  auto old_rule = ResourceUtilizationReplicas(p, 4, 300, "cpu", "", s);
  ASSERT_TRUE(old_rule.ok());
  EXPECT_EQ(old_rule->replicas, 1);
}

TEST(ReplicaCalculatorTest, ResourceErrors) {
  Snapshot s = CpuSnapshot({1000}, {100});
  s.metrics.pod_metrics["cpu"].clear();
  EXPECT_EQ(
      ResourceUtilizationReplicas(Params(), 1, 50, "cpu", "", s).status().message(),
      "unable to get metrics for resource cpu: no metrics returned from resource metrics API");
  Snapshot no_request = CpuSnapshot({1000}, {100});
  no_request.pods[0].containers[0].requests.clear();
  EXPECT_EQ(ResourceUtilizationReplicas(Params(), 1, 50, "cpu", "", no_request).status().message(),
            "missing request for cpu in container c of Pod pod-0");
  Snapshot no_container = CpuSnapshot({1000}, {100});
  no_container.metrics.container_metrics["cpu"]["pod-0"]["c"] = Sample{100};
  EXPECT_EQ(ResourceUtilizationReplicas(Params(), 1, 50, "cpu", "sidecar", no_container)
                .status()
                .message(),
            "container sidecar not found in Pod pod-0");
  Snapshot disjoint = CpuSnapshot({1000}, {});
  disjoint.metrics.pod_metrics["cpu"]["an-older-pod"] = Sample{100};
  EXPECT_EQ(ResourceUtilizationReplicas(Params(), 1, 50, "cpu", "", disjoint).status().message(),
            "no metrics returned matched known pods");
}

TEST(ReplicaCalculatorTest, PodLevelAndSidecarRequests) {
  Snapshot s = CpuSnapshot({100}, {600});
  // A sidecar (init container with restartPolicy Always) adds its request: 100 + 50 = 150;
  // a plain init container does not. util = 600*100/150 = 400%.
  s.pods[0].init_containers.push_back({"init", {{"cpu", Quantity::FromMilli(20)}}, ""});
  s.pods[0].init_containers.push_back({"sidecar", {{"cpu", Quantity::FromMilli(50)}}, "Always"});
  auto r = ResourceUtilizationReplicas(Params(), 1, 100, "cpu", "", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->utilization, 400);
  // Pod-level requests win when the gate is on: 600*100/800 = 75%.
  s.pods[0].pod_requests.push_back({"cpu", Quantity::FromMilli(800)});
  r = ResourceUtilizationReplicas(Params(), 1, 100, "cpu", "", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->utilization, 75);
  CalculatorParams no_gate = Params();
  no_gate.pod_level_resources = false;
  r = ResourceUtilizationReplicas(no_gate, 1, 100, "cpu", "", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->utilization, 400);
}

TEST(ReplicaCalculatorTest, PodsMetricPlainAverage) {
  Snapshot s = CpuSnapshot({1, 1, 1}, {});
  PodSamples& qps = s.metrics.pod_metrics["qps"];
  qps["pod-0"] = Sample{20000};
  qps["pod-1"] = Sample{10000};
  qps["pod-2"] = Sample{30000};
  // usage 60000/3 = 20000; ratio 20000/15000 = 1.333; ceil(1.333*3) = 4.
  auto r = PodsMetricReplicas(Params(), 3, 15000, "qps", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 4);
  EXPECT_EQ(r->usage, 20000);
  // Ratio exactly 1 with two missing pods (current 5): nothing is filled in, 5 stays.
  Snapshot eq = CpuSnapshot({1, 1, 1, 1, 1}, {});
  PodSamples& q2 = eq.metrics.pod_metrics["qps"];
  q2["pod-0"] = Sample{20000};
  q2["pod-1"] = Sample{19000};
  q2["pod-2"] = Sample{21000};
  r = PodsMetricReplicas(Params(), 5, 20000, "qps", eq);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 5);
  EXPECT_EQ(r->usage, 20000);
}

TEST(ReplicaCalculatorTest, ObjectAndExternal) {
  Snapshot s = CpuSnapshot({1, 1, 1}, {});
  s.pods[0].ready = false;
  s.metrics.object_metrics["qps"] = 50000;
  // ratio 5; one Running+Ready pod: ceil(5*2) = 10 (pods 1 and 2 are ready).
  auto r = ObjectValueReplicas(Params(), 3, 10000, "qps", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 10);
  EXPECT_EQ(r->usage, 50000);
  // MaxInt64 usage against a 1m target overflows int32: saturates at MaxInt32.
  s.metrics.object_metrics["huge"] = kMaxInt64;
  r = ObjectValueReplicas(Params(), 3, 1, "huge", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, kMaxInt32);
  // From zero replicas: ceil(ratio), no tolerance: ceil(1050/1000) = 2.
  s.metrics.object_metrics["small"] = 1050;
  r = ObjectValueReplicas(Params(), 0, 1000, "small", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 2);
  // Per-pod object: status replicas 3, ratio 20000/(5000*3) = 1.333 -> ceil(20000/5000) = 4;
  // usage ceil(20000/3) = 6667.
  s.metrics.object_metrics["per-pod"] = 20000;
  r = ObjectAverageValueReplicas(Params(), 3, 5000, "per-pod", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 4);
  EXPECT_EQ(r->usage, 6667);
  // External sum saturates at MaxInt64: ratio MaxInt64/MaxInt64 = 1 -> within -> 3.
  s.metrics.external_metrics["q"] = {kMaxInt64 / 2 + 1, kMaxInt64 / 2 + 1};
  r = ExternalValueReplicas(Params(), 3, kMaxInt64, "q", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 3);
  EXPECT_EQ(r->usage, kMaxInt64);
  // External per pod: ceil(8600/2150) = 4; usage ceil(8600/3) = 2867.
  s.metrics.external_metrics["e"] = {8600};
  r = ExternalAverageValueReplicas(Params(), 3, 2150, "e", s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 4);
  EXPECT_EQ(r->usage, 2867);
  s.metrics.external_metrics["empty"] = {};
  EXPECT_FALSE(ExternalValueReplicas(Params(), 3, 1000, "empty", s).ok());
  EXPECT_FALSE(ObjectValueReplicas(Params(), 3, 1000, "absent", s).ok());
}

TEST(ReplicaCalculatorTest, GroupPodsTable) {
  const absl::Duration init = absl::Minutes(2), delay = absl::Seconds(10);
  struct Case {
    const char* name;
    PodInfo pod;
    std::optional<Sample> sample;
    bool cpu;
    int want_ready, want_unready, want_missing, want_ignored;
  };
  auto pod = [](std::optional<bool> ready, std::optional<absl::Duration> started_ago,
                absl::Duration transition_ago, PodPhase phase = PodPhase::kRunning) {
    PodInfo p;
    p.name = "p";
    p.ready = ready;
    if (started_ago) p.start_time = kNow - *started_ago;
    p.ready_transition_time = kNow - transition_ago;
    p.phase = phase;
    return p;
  };
  const Case cases[] = {
      {"memory ignores readiness", pod(false, absl::Minutes(1), absl::Seconds(1)), Sample{1, kNow},
       false, 1, 0, 0, 0},
      {"cpu without Ready condition", pod(std::nullopt, absl::Minutes(5), absl::Minutes(5)),
       Sample{1, kNow}, true, 0, 1, 0, 0},
      {"cpu without start time", pod(true, std::nullopt, absl::Minutes(5)), Sample{1, kNow}, true,
       0, 1, 0, 0},
      // In the 2 min init period, ready 30 s ago, a 30 s window ending now: kNow < kNow-30s+30s is
      // false.
      {"fresh sample during init", pod(true, absl::Minutes(1), absl::Seconds(30)),
       Sample{1, kNow, absl::Seconds(30)}, true, 1, 0, 0, 0},
      // Same with a 60 s window: kNow < kNow+30s -> unready.
      {"stale sample during init", pod(true, absl::Minutes(1), absl::Seconds(30)),
       Sample{1, kNow, absl::Seconds(60)}, true, 0, 1, 0, 0},
      // Exactly at the end of the init period: start + 2m > now is false -> after-period rules.
      {"init period edge", pod(true, absl::Minutes(2), absl::Seconds(1)),
       Sample{1, kNow, absl::Seconds(60)}, true, 1, 0, 0, 0},
      // After init, unready, became unready 9 min after a start 10 min ago: was ready -> counts.
      {"was ready once", pod(false, absl::Minutes(10), absl::Minutes(9)), Sample{1, kNow}, true, 1,
       0, 0, 0},
      // Unready since 4 s after start (< 10 s delay): never ready -> unready.
      {"never ready", pod(false, absl::Minutes(10), absl::Minutes(9) + absl::Seconds(56)),
       Sample{1, kNow}, true, 0, 1, 0, 0},
      // Exactly at the delay: start + 10s > transition is false -> counts as ready.
      {"readiness delay edge", pod(false, absl::Minutes(10), absl::Minutes(9) + absl::Seconds(50)),
       Sample{1, kNow}, true, 1, 0, 0, 0},
      {"missing sample", pod(true, absl::Minutes(5), absl::Minutes(5)), std::nullopt, true, 0, 0, 1,
       0},
      {"pending", pod(true, absl::Minutes(5), absl::Minutes(5), PodPhase::kPending),
       Sample{1, kNow}, false, 0, 1, 0, 0},
      {"failed", pod(true, absl::Minutes(5), absl::Minutes(5), PodPhase::kFailed), Sample{1, kNow},
       false, 0, 0, 0, 1},
      {"succeeded is not special",
       pod(true, absl::Minutes(5), absl::Minutes(5), PodPhase::kSucceeded), Sample{1, kNow}, false,
       1, 0, 0, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SampleMap samples;
    if (c.sample) samples.emplace("p", *c.sample);
    PodGroups g = GroupPods({c.pod}, samples, c.cpu, init, delay, kNow);
    EXPECT_EQ(g.ready_count, c.want_ready);
    EXPECT_EQ(g.unready.size(), static_cast<size_t>(c.want_unready));
    EXPECT_EQ(g.missing.size(), static_cast<size_t>(c.want_missing));
    EXPECT_EQ(g.ignored.size(), static_cast<size_t>(c.want_ignored));
  }
  PodInfo deleting = pod(true, absl::Minutes(5), absl::Minutes(5));
  deleting.deleting = true;
  SampleMap samples;
  samples.emplace("p", Sample{1, kNow});
  EXPECT_EQ(GroupPods({deleting}, samples, true, init, delay, kNow).ignored.size(), 1u);
}

}  // namespace
}  // namespace tide::autoscaler
