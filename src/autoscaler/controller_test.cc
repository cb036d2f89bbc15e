#include "autoscaler/controller.h"

#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tide::autoscaler {
namespace {

// A replica set whose pods all report the same cpu usage.
class FakeTarget final : public ScaleTarget, public MetricsSource {
 public:
  absl::StatusOr<ScaleState> GetScale() override { return ScaleState{replicas, replicas}; }
  absl::Status SetReplicas(int32_t r) override {
    writes.push_back(r);
    if (!fail_writes) replicas = r;
    return fail_writes ? absl::UnavailableError("conflict") : absl::OkStatus();
  }
  absl::Status Observe(const HpaSpec&, absl::Time now, Snapshot* s) override {
    observed.push_back(now);
    for (int i = 0; i < replicas; ++i) {
      PodInfo p;
      p.name = "pod-" + std::to_string(i);
      p.ready = true;
      p.start_time = absl::UnixEpoch();
      p.containers.push_back({"c", {{"cpu", Quantity::FromMilli(1000)}}, ""});
      s->metrics.pod_metrics["cpu"][p.name] = Sample{usage_milli, now, absl::Minutes(1)};
      s->pods.push_back(std::move(p));
    }
    return absl::OkStatus();
  }
  int32_t replicas = 2;
  int64_t usage_milli = 900;
  bool fail_writes = false;
  std::vector<int32_t> writes;
  std::vector<absl::Time> observed;
};

HpaSpec Spec(const char* json) {
  auto s = HpaSpecFromJson(nlohmann::json::parse(json));
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

constexpr char kSpec[] =
    R"({"maxReplicas": 10, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
  "averageUtilization": 50}}}]})";

TEST(ControllerTest, RejectsInvalidSpec) {
  FakeTarget t;
  auto c = Controller::Create({Spec(R"({"maxReplicas": 0})"), {}, &t, &t, nullptr});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "spec.maxReplicas: Invalid value: 0: must be greater than or equal to 1");
}

TEST(ControllerTest, ScalesEverySyncPeriodAndRecordsEvents) {
  FakeTarget t;
  common::ManualClock clock(absl::FromUnixSeconds(1700000000));
  auto c = Controller::Create({Spec(kSpec), {}, &t, &t, &clock});
  ASSERT_TRUE(c.ok()) << c.status();
  // 90% vs 50% on 2 pods: ceil(1.8*2) = 4; the default scale-up policies allow max(2+4, 2*2) = 6.
  auto r = (*c)->RunIfDue();
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->decision.has_value());
  EXPECT_TRUE(r->status.ok());
  EXPECT_EQ(r->decision->desired_replicas, 4);
  EXPECT_TRUE(r->scaled);
  EXPECT_EQ(t.replicas, 4);
  ASSERT_EQ((*c)->history().scale_up_events.size(), 1u);
  EXPECT_EQ((*c)->history().scale_up_events[0].replicas, 2);
  EXPECT_EQ((*c)->NextSyncTime(), clock.Now() + absl::Seconds(15));
  // Not due yet 14 s later.
  clock.Advance(absl::Seconds(14));
  EXPECT_FALSE((*c)->RunIfDue().has_value());
  // At 15 s: usage dropped to 100 m -> 10% -> ceil(0.2*4) = 1, down window 0, Percent 100: 1.
  clock.Advance(absl::Seconds(1));
  t.usage_milli = 100;
  r = (*c)->RunIfDue();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->decision->desired_replicas, 1);
  EXPECT_EQ(t.replicas, 1);
  EXPECT_EQ((*c)->history().scale_down_events.size(), 1u);
  EXPECT_EQ(t.observed.size(), 2u);
}

TEST(ControllerTest, FailedWriteRecordsNoEvent) {
  FakeTarget t;
  t.fail_writes = true;
  auto c = Controller::Create({Spec(kSpec), {}, &t, &t, nullptr});
  ASSERT_TRUE(c.ok());
  ReconcileResult r = (*c)->RunOnce(absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(r.scaled);
  EXPECT_EQ(t.writes, std::vector<int32_t>{4});
  EXPECT_TRUE((*c)->history().scale_up_events.empty());
  EXPECT_FALSE((*c)->RunIfDue().has_value());  // no clock: never due by itself
}

}  // namespace
}  // namespace tide::autoscaler

namespace tide::autoscaler {
namespace {

// An External queue metric that can take the target to zero and back.
class QueueTarget final : public ScaleTarget, public MetricsSource {
 public:
  absl::StatusOr<ScaleState> GetScale() override { return ScaleState{replicas, replicas}; }
  absl::Status SetReplicas(int32_t r) override {
    replicas = r;
    return absl::OkStatus();
  }
  absl::Status Observe(const HpaSpec&, absl::Time, Snapshot* s) override {
    for (int i = 0; i < replicas; ++i) {
      PodInfo p;
      p.name = "pod-" + std::to_string(i);
      p.ready = true;
      s->pods.push_back(std::move(p));
    }
    s->metrics.external_metrics["queue"] = {queue_milli};
    return absl::OkStatus();
  }
  int32_t replicas = 2;
  int64_t queue_milli = 0;
};

TEST(ControllerTest, ScaledToZeroConditionModeRoundTrip) {
  QueueTarget t;
  ControllerConfig config;
  config.scale_from_zero = ControllerConfig::ScaleFromZero::kScaledToZeroCondition;
  config.hpa_scale_to_zero = true;
  auto c = Controller::Create({Spec(R"({"minReplicas": 0, "maxReplicas": 5,
      "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
      "metrics": [{"type": "External", "external": {"metric": {"name": "queue"},
      "target": {"type": "Value", "value": "10"}}}]})"),
                               config, &t, &t, nullptr});
  ASSERT_TRUE(c.ok()) << c.status();
  absl::Time now = absl::FromUnixSeconds(1700000000);
  // Empty queue: ratio 0 -> 0 replicas; the HPA marks itself ScaledToZero.
  ReconcileResult r = (*c)->RunOnce(now);
  EXPECT_EQ(t.replicas, 0);
  EXPECT_TRUE((*c)->scaled_to_zero_condition());
  // Work arrives: from zero, ceil(25/10) = 3 (no tolerance at zero replicas).
  t.queue_milli = 25000;
  r = (*c)->RunOnce(now + absl::Seconds(15));
  ASSERT_TRUE(r.decision.has_value());
  EXPECT_EQ(r.decision->desired_replicas, 3);
  EXPECT_EQ(t.replicas, 3);
  EXPECT_FALSE((*c)->scaled_to_zero_condition());
}

}  // namespace
}  // namespace tide::autoscaler
