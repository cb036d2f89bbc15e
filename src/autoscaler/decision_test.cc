// The reconcile flow of Decide(): early exits, combining metrics, partial
// failures, history seeding and scale events. Expected values worked out by
// hand from docs/hpa-semantics.md §3, §4 and §10.

#include "autoscaler/decision.h"

#include <string>

#include "autoscaler/snapshot_json.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tide::autoscaler {
namespace {

// A snapshot with `pods` ready pods each requesting 1 cpu, cpu usage `usage`
// milli per pod, one qps object metric, and the given extra fields.
SnapshotCase Make(const std::string& extra, int pods = 3, int usage = 500) {
  nlohmann::json j = nlohmann::json::parse("{" + extra + "}");
  j["now"] = 1700000000.0;
  if (!j.contains("currentReplicas")) j["currentReplicas"] = pods;
  if (!j.contains("recommendations")) j["recommendations"] = nlohmann::json::array();
  nlohmann::json p = nlohmann::json::array();
  for (int i = 0; i < pods; ++i) {
    std::string name = "pod-" + std::to_string(i);
    p.push_back({{"name", name},
                 {"ready", true},
                 {"startTime", 0.0},
                 {"containers", {{{"name", "c"}, {"requests", {{"cpu", "1"}}}}}}});
    j["podMetrics"]["cpu"][name] = {{"value", std::to_string(usage) + "m"},
                                    {"timestamp", 1699999990.0}};
  }
  j["pods"] = p;
  auto c = ParseSnapshot(j, "$");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

Decision DecideCase(SnapshotCase& c) {
  return Decide(c.spec, c.config, c.snapshot, c.now, &c.history);
}

constexpr char kCpu50[] =
    R"("type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}})";

TEST(DecideTest, ScaleUpOnCpu) {
  // 80% vs 50%: ratio 1.6, ceil(1.6*3) = ceil(4.800000000000001) = 5.
  SnapshotCase c =
      Make(std::string(R"("hpa": {"maxReplicas": 10, "metrics": [{)") + kCpu50 + "}]}", 3, 800);
  Decision d = DecideCase(c);
  EXPECT_TRUE(d.metrics_evaluated);
  ASSERT_EQ(d.metrics.size(), 1u);
  EXPECT_EQ(d.metrics[0].replicas, 5);
  EXPECT_EQ(d.metrics[0].utilization, 80);
  EXPECT_EQ(d.desired_replicas, 5);
  EXPECT_TRUE(d.rescale);
  EXPECT_EQ(d.reason, "DesiredWithinRange");
  EXPECT_FALSE(d.error);
}

TEST(DecideTest, EarlyExits) {
  // currentReplicas 0 with minReplicas 1: scaling disabled, nothing evaluated.
  SnapshotCase c = Make(R"("hpa": {"maxReplicas": 10}, "currentReplicas": 0)");
  Decision d = DecideCase(c);
  EXPECT_FALSE(d.metrics_evaluated);
  EXPECT_EQ(d.desired_replicas, 0);
  EXPECT_FALSE(d.rescale);
  EXPECT_EQ(d.reason, "ScalingDisabled");
  // Above maxReplicas: desired = maxReplicas, no metric read.
  c = Make(R"("hpa": {"maxReplicas": 2}, "currentReplicas": 3)");
  d = DecideCase(c);
  EXPECT_EQ(d.desired_replicas, 2);
  EXPECT_EQ(d.reason, "TooManyReplicas");
  EXPECT_FALSE(d.metrics_evaluated);
  EXPECT_TRUE(c.history.recommendations.empty());  // no recommendation recorded
  // Below minReplicas.
  c = Make(R"("hpa": {"minReplicas": 4, "maxReplicas": 6})");
  d = DecideCase(c);
  EXPECT_EQ(d.desired_replicas, 4);
  EXPECT_EQ(d.reason, "TooFewReplicas");
}

TEST(DecideTest, FirstReconcileSeedsHistoryAndBlocksScaleDown) {
  // 10% vs 50% would give ceil(0.2*3) = 1, but the seeded {3, now} holds it.
  SnapshotCase c =
      Make(std::string(R"("hpa": {"maxReplicas": 10, "metrics": [{)") + kCpu50 + "}]}", 3, 100);
  c.history = History{};  // "recommendations" omitted: first reconcile
  Decision d = DecideCase(c);
  EXPECT_EQ(d.proposal, 1);
  EXPECT_EQ(d.desired_replicas, 3);
  EXPECT_EQ(d.reason, "ScaleDownStabilized");
  ASSERT_EQ(c.history.recommendations.size(), 2u);
  EXPECT_EQ(c.history.recommendations[0].replicas, 3);
  EXPECT_EQ(c.history.recommendations[1].replicas, 1);
}

TEST(DecideTest, InvalidMetricsNeverScaleDown) {
  const std::string missing_ext =
      R"({"type": "External", "external": {"metric": {"name": "absent"}, "target": {"type": "Value", "value": "1"}}})";
  // Valid cpu says 1 (< current 3) and the External metric fails: no scaling, error.
  SnapshotCase c = Make(std::string(R"("hpa": {"maxReplicas": 10, "metrics": [{)") + kCpu50 +
                            "}, " + missing_ext + "]}",
                        3, 100);
  Decision d = DecideCase(c);
  EXPECT_TRUE(d.error);
  EXPECT_EQ(d.desired_replicas, 3);
  EXPECT_EQ(d.reason, "FailedGetExternalMetric");
  ASSERT_EQ(d.metrics.size(), 2u);
  EXPECT_TRUE(d.metrics[0].valid);
  EXPECT_EQ(d.metrics[0].replicas, 1);
  EXPECT_FALSE(d.metrics[1].valid);
  // Valid cpu says 5 (> current): scale up on it, and still report the error.
  c = Make(std::string(R"("hpa": {"maxReplicas": 10, "metrics": [{)") + kCpu50 + "}, " +
               missing_ext + "]}",
           3, 800);
  d = DecideCase(c);
  EXPECT_TRUE(d.error);
  EXPECT_EQ(d.desired_replicas, 5);
  EXPECT_EQ(d.reason, "DesiredWithinRange");
  // Every metric invalid: keep current.
  c = Make(R"("hpa": {"maxReplicas": 10, "metrics": [{"type": "Bogus"}]})");
  d = DecideCase(c);
  EXPECT_TRUE(d.error);
  EXPECT_EQ(d.desired_replicas, 3);
  EXPECT_EQ(d.reason, "InvalidMetricSourceType");
}

TEST(DecideTest, SpecWithoutMetricsIsAnErrorNotACrash) {
  SnapshotCase c = Make(R"("hpa": {"maxReplicas": 10})");
  c.spec.metrics.clear();  // as if ApplyDefaults() had been skipped
  Decision d = DecideCase(c);
  EXPECT_TRUE(d.error);
  EXPECT_EQ(d.desired_replicas, 3);
}

TEST(DecideTest, MaxOverMetrics) {
  // cpu: 60% vs 50% -> ceil(1.2*3) = 4; object qps 20 vs Value target 5: ratio 4 with 3
  // ready pods -> 12. The legacy scale-up limit max(2*3, 4) = 6 < maxReplicas 10 caps it.
  SnapshotCase c = Make(std::string(R"("hpa": {"maxReplicas": 10, "metrics": [{)") + kCpu50 +
                            R"(}, {"type": "Object", "object": {"metric": {"name": "qps"},
                            "describedObject": {"kind": "Service", "name": "s"},
                            "target": {"type": "Value", "value": "5"}}}]},
                            "objectMetrics": {"qps": "20"})",
                        3, 600);
  Decision d = DecideCase(c);
  EXPECT_EQ(d.metrics[0].replicas, 4);
  EXPECT_EQ(d.metrics[1].replicas, 12);
  EXPECT_EQ(d.proposal, 12);
  EXPECT_EQ(d.desired_replicas, 6);
  EXPECT_EQ(d.reason, "ScaleUpLimit");
}

TEST(DecideTest, ScaleToZeroWithMinReplicasZero) {
  // At 2 replicas, queue 0: ratio 0 -> ceil(0*2) = 0; stabilization window 0 via behavior.
  SnapshotCase c = Make(R"("hpa": {"minReplicas": 0, "maxReplicas": 5, "behavior": {"scaleDown":
      {"stabilizationWindowSeconds": 0}}, "metrics": [{"type": "External", "external":
      {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "10"}}}]},
      "externalMetrics": {"queue": ["0"]}, "currentReplicas": 2)",
                        2);
  Decision d = DecideCase(c);
  EXPECT_EQ(d.desired_replicas, 0);
  // From zero (minReplicasZero mode): metrics evaluated, ceil(25/10) = 3, no tolerance.
  c = Make(R"("hpa": {"minReplicas": 0, "maxReplicas": 5, "behavior": {}, "metrics": [{"type":
      "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value",
      "value": "10"}}}]}, "externalMetrics": {"queue": ["25"]}, "currentReplicas": 0)",
           0);
  d = DecideCase(c);
  EXPECT_TRUE(d.metrics_evaluated);
  EXPECT_EQ(d.metrics[0].replicas, 3);
  EXPECT_EQ(d.desired_replicas, 3);
  // scaledToZeroCondition mode without the condition: disabled.
  c.config.scale_from_zero = ControllerConfig::ScaleFromZero::kScaledToZeroCondition;
  c.config.hpa_scale_to_zero = true;
  d = DecideCase(c);
  EXPECT_EQ(d.reason, "ScalingDisabled");
  EXPECT_EQ(d.desired_replicas, 0);
  // ...and with it: evaluated again.
  c.snapshot.scaled_to_zero_condition = true;
  d = DecideCase(c);
  EXPECT_EQ(d.desired_replicas, 3);
}

TEST(DecideTest, BehaviorToleranceNeedsTheGate) {
  // 104% vs 100%: inside the default 10% band; outside a 2% scale-up tolerance:
  // ceil(1.04*3) = ceil(3.12) = 4.
  const std::string hpa =
      R"("hpa": {"maxReplicas": 10, "behavior": {"scaleUp": {"tolerance": "0.02"}},
      "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type":
      "Utilization", "averageUtilization": 100}}}]})";
  SnapshotCase c = Make(hpa, 3, 1040);
  EXPECT_EQ(DecideCase(c).desired_replicas, 4);
  c = Make(hpa, 3, 1040);
  c.config.configurable_tolerance = false;
  EXPECT_EQ(DecideCase(c).desired_replicas, 3);
}

TEST(DecideTest, RecordScaleMarksAndReusesOutdatedEvents) {
  auto spec = HpaSpecFromJson(nlohmann::json::parse(
      R"({"maxReplicas": 10, "behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 1,
          "periodSeconds": 60}, {"type": "Pods", "value": 2, "periodSeconds": 120}]}}})"));
  ASSERT_TRUE(spec.ok());
  ApplyDefaults(&*spec);
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  History h;
  h.scale_up_events = {
      {now - absl::Seconds(200), 1}, {now - absl::Seconds(121), 2}, {now - absl::Seconds(120), 3}};
  RecordScale(*spec, 3, 5, now, &h);
  // Longest period 120 s: the first two are outdated, the last outdated one is reused.
  ASSERT_EQ(h.scale_up_events.size(), 3u);
  EXPECT_TRUE(h.scale_up_events[0].outdated);
  EXPECT_EQ(h.scale_up_events[1].replicas, 2);
  EXPECT_EQ(h.scale_up_events[1].timestamp, now);
  EXPECT_FALSE(h.scale_up_events[1].outdated);
  EXPECT_FALSE(h.scale_up_events[2].outdated);  // exactly 120 s old is not "before" the cutoff
  // A scale-down goes to the other list; no events at all without behavior.
  RecordScale(*spec, 5, 2, now, &h);
  ASSERT_EQ(h.scale_down_events.size(), 1u);
  EXPECT_EQ(h.scale_down_events[0].replicas, 3);
  HpaSpec legacy = *spec;
  legacy.behavior.reset();
  History empty;
  RecordScale(legacy, 1, 4, now, &empty);
  EXPECT_TRUE(empty.scale_up_events.empty());
}

}  // namespace
}  // namespace tide::autoscaler
