// The snapshot schema of docs/hpa-semantics.md §13: defaults, conventions and
// errors that name the JSON path.

#include "autoscaler/snapshot_json.h"

#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tide::autoscaler {
namespace {

absl::StatusOr<SnapshotCase> Parse(const std::string& text) {
  return ParseSnapshot(nlohmann::json::parse(text), "$");
}

TEST(SnapshotJsonTest, DefaultsAndConventions) {
  auto c = Parse(R"({"name": "n", "now": 1700000000.25, "hpa": {"maxReplicas": 4},
      "currentReplicas": 2, "expect": {"desiredReplicas": 2}, "note": "ignored",
      "pods": [{"name": "a"}, {"name": "b", "phase": "Pending", "ready": false, "startTime": 0.0,
                "readyTransitionTime": 1699999990, "deleting": true,
                "containers": [{"name": "c", "requests": {"cpu": "250m"}}],
                "initContainers": [{"name": "s", "restartPolicy": "Always", "requests": {"cpu": "1"}}],
                "resources": {"requests": {"cpu": "2"}}}],
      "podMetrics": {"cpu": {"a": {"value": "100m"}, "b": {"value": null}}},
      "containerMetrics": {"memory": {"a": {"c": {"value": "1Ki", "timestamp": 5, "window": "30s"}}}},
      "objectMetrics": {"o": "2k"}, "externalMetrics": {"e": ["1", "500m"]}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->now, absl::FromUnixSeconds(1700000000) + absl::Milliseconds(250));
  EXPECT_EQ(c->snapshot.status_replicas, 2);  // defaults to currentReplicas
  EXPECT_FALSE(c->history.initialized);       // recommendations omitted: first reconcile
  EXPECT_EQ(c->spec.min_replicas, 1);         // API default
  ASSERT_EQ(c->spec.metrics.size(), 1u);      // cpu 80% default metric
  EXPECT_FALSE(c->spec.behavior.has_value());
  const PodInfo& a = c->snapshot.pods[0];
  EXPECT_EQ(a.phase, PodPhase::kRunning);
  EXPECT_FALSE(a.ready.has_value());       // no Ready condition
  EXPECT_FALSE(a.start_time.has_value());  // startTime unset
  EXPECT_EQ(a.ready_transition_time, absl::UnixEpoch());
  const PodInfo& b = c->snapshot.pods[1];
  EXPECT_EQ(b.phase, PodPhase::kPending);
  EXPECT_EQ(b.ready, false);
  EXPECT_EQ(b.start_time, absl::UnixEpoch());  // 0.0 is Go's zero time: set, long ago
  EXPECT_TRUE(b.deleting);
  EXPECT_EQ(b.containers[0].Request("cpu")->MilliValue(), 250);
  EXPECT_EQ(b.init_containers[0].restart_policy, "Always");
  EXPECT_EQ(b.pod_requests[0].second.MilliValue(), 2000);
  const PodSamples& cpu = c->snapshot.metrics.pod_metrics.at("cpu");
  EXPECT_EQ(cpu.at("a")->milli_value, 100);
  EXPECT_EQ(cpu.at("a")->window, absl::Minutes(1));  // default window
  EXPECT_FALSE(cpu.at("b").has_value());             // present but lacking the value
  const auto& mem = c->snapshot.metrics.container_metrics.at("memory").at("a").at("c");
  EXPECT_EQ(mem->milli_value, 1024000);
  EXPECT_EQ(mem->window, absl::Seconds(30));
  EXPECT_EQ(c->snapshot.metrics.object_metrics.at("o"), 2000000);
  EXPECT_EQ(c->snapshot.metrics.external_metrics.at("e"), (std::vector<int64_t>{1000, 500}));
  EXPECT_EQ(c->expect["desiredReplicas"], 2);
}

TEST(SnapshotJsonTest, HistoryAndConfig) {
  auto c = Parse(R"({"now": 100, "hpa": {"maxReplicas": 4, "behavior": {}}, "currentReplicas": 2,
      "config": {"tolerance": 0.05, "cpuInitializationPeriod": 120, "delayOfInitialReadinessStatus": "10s",
                 "downscaleStabilizationWindow": 60, "scaleUpLimitFactor": 8, "scaleFromZero": "scaledToZeroCondition",
                 "hpaScaleToZero": true, "missingPodsUseTargetAbove100": false, "configurableTolerance": false,
                 "podLevelResources": false},
      "scaledToZeroCondition": true, "statusReplicas": 3,
      "recommendations": [], "scaleUpEvents": [{"timestamp": 90, "replicas": 2}],
      "scaleDownEvents": [{"timestamp": 80.5, "replicas": 1}]})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->history.initialized);  // [] = an existing, empty history
  EXPECT_TRUE(c->history.recommendations.empty());
  ASSERT_EQ(c->history.scale_up_events.size(), 1u);
  EXPECT_EQ(c->history.scale_up_events[0].timestamp, absl::FromUnixSeconds(90));
  EXPECT_EQ(c->history.scale_down_events[0].timestamp, absl::FromUnixMillis(80500));
  EXPECT_EQ(c->config.tolerance, 0.05);
  EXPECT_EQ(c->config.cpu_initialization_period, absl::Minutes(2));
  EXPECT_EQ(c->config.delay_of_initial_readiness_status, absl::Seconds(10));
  EXPECT_EQ(c->config.downscale_stabilization_window, absl::Minutes(1));
  EXPECT_EQ(c->config.scale_up_limit_factor, 8);
  EXPECT_EQ(c->config.scale_from_zero, ControllerConfig::ScaleFromZero::kScaledToZeroCondition);
  EXPECT_TRUE(c->config.hpa_scale_to_zero);
  EXPECT_FALSE(c->config.missing_pods_use_target_above_100);
  EXPECT_FALSE(c->config.configurable_tolerance);
  EXPECT_FALSE(c->config.pod_level_resources);
  EXPECT_EQ(c->config.scale_up_limit_minimum, 4);  // omitted: production default
  EXPECT_TRUE(c->snapshot.scaled_to_zero_condition);
  EXPECT_EQ(c->snapshot.status_replicas, 3);
  // behavior {} gets the API defaults.
  ASSERT_TRUE(c->spec.behavior->scale_up.has_value());
  EXPECT_EQ(c->spec.behavior->scale_up->policies->size(), 2u);
}

TEST(SnapshotJsonTest, ErrorsNameThePath) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {R"({"hpa": {"maxReplicas": 1}, "currentReplicas": 1})", "$.now: required (seconds)"},
      {R"({"now": 1, "currentReplicas": 1})", "$.hpa: required"},
      {R"({"now": 1, "hpa": {"maxReplicas": 1}})", "$.currentReplicas: required"},
      {R"({"now": "soon", "hpa": {"maxReplicas": 1}, "currentReplicas": 1})",
       "$.now: expected a number"},
      {R"({"now": 1, "hpa": {"maxReplicas": 1}, "currentReplicas": 1, "pods": [{"phase": "Running"}]})",
       "$.pods[0].name: required"},
      {R"({"now": 1, "hpa": {"maxReplicas": 1, "minReplicas": "x"}, "currentReplicas": 1})",
       "$.hpa.minReplicas: expected an integer"},
      {R"({"now": 1, "hpa": {}, "currentReplicas": 1})", "$.hpa.maxReplicas: required, at least 1"},
      {R"({"now": 1, "hpa": {"maxReplicas": 1}, "currentReplicas": 1,
           "podMetrics": {"cpu": {"p": {"value": "lots"}}}})",
       "$.podMetrics.cpu.p.value: Invalid value: \"lots\": quantities must match the regular "
       "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
      {R"({"now": 1, "hpa": {"maxReplicas": 1}, "currentReplicas": 1,
           "recommendations": [{"timestamp": 1}]})",
       "$.recommendations[0].replicas: required"},
      {R"({"now": 1, "hpa": {"maxReplicas": 1}, "currentReplicas": 1, "config": {"scaleFromZero": "yes"}})",
       "$.config.scaleFromZero: expected \"minReplicasZero\" or \"scaledToZeroCondition\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    auto r = Parse(c.json);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), c.message);
  }
  auto arr = ParseSnapshots(nlohmann::json::parse(
      R"([{"now": 1, "hpa": {"maxReplicas": 1}, "currentReplicas": 1}, {"now": 1}])"));
  ASSERT_FALSE(arr.ok());
  EXPECT_EQ(arr.status().message(), "$[1].hpa: required");
}

}  // namespace
}  // namespace tide::autoscaler
