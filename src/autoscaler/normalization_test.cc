// Legacy and behavior normalization, at the edges. Expected numbers are
// worked out from docs/hpa-semantics.md §8 and §9 by hand.

#include "autoscaler/normalization.h"

#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace tide::autoscaler {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);
constexpr int32_t kMaxInt32 = std::numeric_limits<int32_t>::max();

absl::Time Ago(int seconds) { return kNow - absl::Seconds(seconds); }

LegacyParams Legacy(int32_t current, int32_t min, int32_t max) {
  LegacyParams p;
  p.current_replicas = current;
  p.min_replicas = min;
  p.max_replicas = max;
  return p;
}

TEST(LegacyNormalizationTest, StabilizationWindowEdges) {
  // An entry exactly at now - 300s is still inside the window.
  std::vector<TimestampedRecommendation> recs = {{Ago(300), 5}};
  Normalized n = NormalizeLegacy(Legacy(5, 1, 10), 3, kNow, &recs);
  EXPECT_EQ(n.replicas, 5);
  EXPECT_EQ(n.stabilize_reason, "ScaleDownStabilized");
  ASSERT_EQ(recs.size(), 2u);  // appended: nothing was older than the cutoff
  EXPECT_EQ(recs[1].replicas, 3);
  EXPECT_EQ(recs[1].timestamp, kNow);

  // One second older: outside, and overwritten by the new proposal.
  recs = {{Ago(301), 5}};
  n = NormalizeLegacy(Legacy(5, 1, 10), 3, kNow, &recs);
  EXPECT_EQ(n.replicas, 3);
  EXPECT_EQ(n.stabilize_reason, "");
  EXPECT_EQ(n.limit_reason, "DesiredWithinRange");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].replicas, 3);

  // The legacy path replays a higher recommendation even above current.
  recs = {{Ago(10), 8}};
  n = NormalizeLegacy(Legacy(5, 1, 10), 5, kNow, &recs);
  EXPECT_EQ(n.replicas, 8);
}

TEST(LegacyNormalizationTest, ScaleUpLimitAndBounds) {
  std::vector<TimestampedRecommendation> recs;
  // max(2*3, 4) = 6 < maxReplicas 100.
  Normalized n = NormalizeLegacy(Legacy(3, 1, 100), 20, kNow, &recs);
  EXPECT_EQ(n.replicas, 6);
  EXPECT_EQ(n.limit_reason, "ScaleUpLimit");
  // maxReplicas 5 <= 6: TooManyReplicas.
  recs.clear();
  n = NormalizeLegacy(Legacy(3, 1, 5), 20, kNow, &recs);
  EXPECT_EQ(n.replicas, 5);
  EXPECT_EQ(n.limit_reason, "TooManyReplicas");
  // Below minReplicas wins first.
  recs.clear();
  n = NormalizeLegacy(Legacy(3, 2, 5), 0, kNow, &recs);
  EXPECT_EQ(n.replicas, 2);
  EXPECT_EQ(n.limit_reason, "TooFewReplicas");
  // The scale-up minimum of 4 from one replica: max(2*1, 4) = 4.
  recs.clear();
  n = NormalizeLegacy(Legacy(1, 1, 100), 50, kNow, &recs);
  EXPECT_EQ(n.replicas, 4);
  // Upstream's unit-test factor 8: max(8*3, 4) = 24.
  recs.clear();
  LegacyParams p = Legacy(3, 1, 100);
  p.scale_up_limit_factor = 8;
  n = NormalizeLegacy(p, 50, kNow, &recs);
  EXPECT_EQ(n.replicas, 24);
}

std::vector<ScalingPolicy> Policies(std::vector<ScalingPolicy> p) { return p; }

BehaviorParams Behave(int32_t current, int32_t min, int32_t max,
                      const std::vector<ScalingPolicy>* up_policies,
                      const std::vector<ScalingPolicy>* down_policies, int up_window = 0,
                      int down_window = 0) {
  BehaviorParams p;
  p.current_replicas = current;
  p.min_replicas = min;
  p.max_replicas = max;
  p.up = ResolvedRules{absl::Seconds(up_window), "Max", up_policies};
  p.down = ResolvedRules{absl::Seconds(down_window), "Max", down_policies};
  return p;
}

TEST(BehaviorNormalizationTest, StabilizationWindowEdges) {
  const auto up = Policies({{"Pods", 4, 15}, {"Percent", 100, 15}});
  const auto down = Policies({{"Percent", 100, 15}});
  History none;
  // An entry exactly one scale-up window old is outside ("newer than" is strict).
  std::vector<TimestampedRecommendation> recs = {{Ago(60), 4}};
  Normalized n = NormalizeWithBehavior(Behave(5, 1, 20, &up, &down, 60), 8, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 8);
  EXPECT_EQ(n.stabilize_reason, "");
  // 59 s old: inside, upRec = min(4, 8) = 4, current 5 stays.
  recs = {{Ago(59), 4}};
  n = NormalizeWithBehavior(Behave(5, 1, 20, &up, &down, 60), 8, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 5);
  EXPECT_EQ(n.stabilize_reason, "ScaleUpStabilized");
  // Scale-down window 300 s: an entry 299 s old holds the count up.
  recs = {{Ago(299), 7}};
  n = NormalizeWithBehavior(Behave(7, 1, 20, &up, &down, 0, 300), 2, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 7);
  EXPECT_EQ(n.stabilize_reason, "ScaleDownStabilized");
  // The recommendation replaces the last entry older than both cutoffs.
  recs = {{Ago(900), 1}, {Ago(800), 2}, {Ago(100), 3}};
  n = NormalizeWithBehavior(Behave(3, 1, 20, &up, &down, 0, 300), 3, kNow, none, &recs);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].replicas, 1);
  EXPECT_EQ(recs[1].replicas, 3);
  EXPECT_EQ(recs[1].timestamp, kNow);
}

TEST(BehaviorNormalizationTest, PercentScaleDownTruncates) {
  const auto up = Policies({{"Pods", 4, 15}});
  const auto down15 = Policies({{"Percent", 15, 60}});
  History none;
  std::vector<TimestampedRecommendation> recs;
  // int32(10 * (1 - 0.15)) = int32(8.5) = 8.
  Normalized n = NormalizeWithBehavior(Behave(10, 1, 20, &up, &down15), 1, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 8);
  EXPECT_EQ(n.limit_reason, "ScaleDownLimit");
  // int32(3 * 0.5) = 1.
  const auto down50 = Policies({{"Percent", 50, 60}});
  recs.clear();
  n = NormalizeWithBehavior(Behave(3, 1, 20, &up, &down50), 0, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 1);
  // Percent scale-up rounds up: ceil(3 * 1.1) = ceil(3.3000000000000003) = 4.
  const auto up10 = Policies({{"Percent", 10, 60}});
  recs.clear();
  n = NormalizeWithBehavior(Behave(3, 1, 20, &up10, &down50), 10, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 4);
  EXPECT_EQ(n.limit_reason, "ScaleUpLimit");
}

TEST(BehaviorNormalizationTest, EventExactlyOnePeriodOld) {
  const auto up = Policies({{"Pods", 4, 60}});
  const auto down = Policies({{"Percent", 100, 15}});
  History events;
  std::vector<TimestampedRecommendation> recs;
  // An event exactly 60 s old no longer counts: start = 10, limit 14.
  events.scale_up_events = {{Ago(60), 4}};
  Normalized n = NormalizeWithBehavior(Behave(10, 1, 50, &up, &down), 20, kNow, events, &recs);
  EXPECT_EQ(n.replicas, 14);
  // 59 s old: start = 10 - 4 = 6, limit 10 = current: no scale-up at all.
  events.scale_up_events = {{Ago(59), 4}};
  recs.clear();
  n = NormalizeWithBehavior(Behave(10, 1, 50, &up, &down), 20, kNow, events, &recs);
  EXPECT_EQ(n.replicas, 10);
  EXPECT_EQ(n.limit_reason, "ScaleUpLimit");
  // Scale-down events raise the start of the period: 10 + 3 = 13, limit 17.
  events.scale_up_events.clear();
  events.scale_down_events = {{Ago(30), 3}};
  recs.clear();
  n = NormalizeWithBehavior(Behave(10, 1, 50, &up, &down), 20, kNow, events, &recs);
  EXPECT_EQ(n.replicas, 17);
}

TEST(BehaviorNormalizationTest, SelectPolicies) {
  const auto up = Policies({{"Pods", 4, 60}, {"Percent", 100, 60}});
  const auto down = Policies({{"Pods", 1, 60}, {"Percent", 50, 60}});
  History none;
  std::vector<TimestampedRecommendation> recs;
  BehaviorParams p = Behave(10, 1, 100, &up, &down);
  // Max: up max(14, 20) = 20; down min(9, 5) = 5.
  EXPECT_EQ(NormalizeWithBehavior(p, 50, kNow, none, &recs).replicas, 20);
  EXPECT_EQ(NormalizeWithBehavior(p, 1, kNow, none, &recs).replicas, 5);
  // Min: up min(14, 20) = 14; down max(9, 5) = 9.
  p.up.select_policy = "Min";
  p.down.select_policy = "Min";
  EXPECT_EQ(NormalizeWithBehavior(p, 50, kNow, none, &recs).replicas, 14);
  EXPECT_EQ(NormalizeWithBehavior(p, 1, kNow, none, &recs).replicas, 9);
  // Disabled: the limit is current in that direction.
  p.up.select_policy = "Disabled";
  p.down.select_policy = "Disabled";
  Normalized n = NormalizeWithBehavior(p, 50, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 10);
  EXPECT_EQ(n.limit_reason, "ScaleUpLimit");
  n = NormalizeWithBehavior(p, 1, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 10);
  EXPECT_EQ(n.limit_reason, "ScaleDownLimit");
  // Bounds still apply inside the rate: maxReplicas 12 below the 20 allowed.
  BehaviorParams q = Behave(10, 1, 12, &up, &down);
  n = NormalizeWithBehavior(q, 50, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 12);
  EXPECT_EQ(n.limit_reason, "TooManyReplicas");
  // minReplicas 8 above the 5 allowed.
  q = Behave(10, 8, 100, &up, &down);
  n = NormalizeWithBehavior(q, 1, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 8);
  EXPECT_EQ(n.limit_reason, "TooFewReplicas");
}

TEST(BehaviorNormalizationTest, MinReplicasZeroAndOverflow) {
  const auto up = Policies({{"Percent", 100, 15}});
  const auto down = Policies({{"Percent", 100, 15}});
  History none;
  std::vector<TimestampedRecommendation> recs;
  // minReplicas 0: int32(2 * 0) = 0 is allowed.
  Normalized n = NormalizeWithBehavior(Behave(2, 0, 10, &up, &down), 0, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 0);
  EXPECT_EQ(n.limit_reason, "DesiredWithinRange");
  // ceil(2e9 * 2) overflows int32: the limit saturates at MaxInt32.
  EXPECT_EQ(ScaleUpLimit(2000000000, {}, {}, ResolvedRules{absl::ZeroDuration(), "Max", &up}, kNow),
            kMaxInt32);
  const auto pods = Policies({{"Pods", 1000, 15}});
  EXPECT_EQ(
      ScaleUpLimit(kMaxInt32 - 10, {}, {}, ResolvedRules{absl::ZeroDuration(), "Max", &pods}, kNow),
      kMaxInt32);
  // No policies: Max selects from MinInt32 (then clamped to current by the caller).
  const std::vector<ScalingPolicy> none_policies;
  EXPECT_EQ(
      ScaleUpLimit(5, {}, {}, ResolvedRules{absl::ZeroDuration(), "Max", &none_policies}, kNow),
      std::numeric_limits<int32_t>::min());
  n = NormalizeWithBehavior(Behave(5, 1, 10, &none_policies, &down), 9, kNow, none, &recs);
  EXPECT_EQ(n.replicas, 5);
}

}  // namespace
}  // namespace tide::autoscaler
