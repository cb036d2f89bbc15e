#pragma once

// Turning the raw proposal into the replica count to write: the legacy path
// (no spec.behavior: normalizeDesiredReplicas) and the behavior path
// (normalizeDesiredReplicasWithBehaviors), from upstream's horizontal.go.
// Pure functions of their arguments; they update the recommendation history
// the way the upstream stabilizers do.

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/snapshot.h"

namespace tide::autoscaler {

struct Normalized {
  int32_t replicas = 0;
  int32_t stabilized = 0;             // after stabilization, before limits
  std::string_view stabilize_reason;  // "", "ScaleUpStabilized", "ScaleDownStabilized"
  std::string_view limit_reason;      // "DesiredWithinRange", "ScaleUpLimit", ...
  std::string_view limit_message;
};

struct LegacyParams {
  int32_t current_replicas = 0;
  int32_t min_replicas = 1;
  int32_t max_replicas = 1;
  absl::Duration downscale_window = absl::Minutes(5);
  double scale_up_limit_factor = 2.0;
  double scale_up_limit_minimum = 4.0;
};

Normalized NormalizeLegacy(const LegacyParams& p, int32_t proposal, absl::Time now,
                           std::vector<TimestampedRecommendation>* recommendations);

// Scaling rules with every default resolved.
struct ResolvedRules {
  absl::Duration window;
  std::string_view select_policy;  // "Max", "Min", "Disabled" (anything else acts as Max)
  const std::vector<ScalingPolicy>* policies = nullptr;
};

// Resolves scaleUp/scaleDown rules, filling unset fields with the API
// defaults and the scale-down window with `downscale_window`.
ResolvedRules ResolveScaleUp(const Behavior& b);
ResolvedRules ResolveScaleDown(const Behavior& b, absl::Duration downscale_window);

struct BehaviorParams {
  int32_t current_replicas = 0;
  int32_t min_replicas = 1;
  int32_t max_replicas = 1;
  ResolvedRules up;
  ResolvedRules down;
};

Normalized NormalizeWithBehavior(const BehaviorParams& p, int32_t proposal, absl::Time now,
                                 const History& events,
                                 std::vector<TimestampedRecommendation>* recommendations);

// calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors.
int32_t ScaleUpLimit(int32_t current, const std::vector<ScaleEvent>& up_events,
                     const std::vector<ScaleEvent>& down_events, const ResolvedRules& rules,
                     absl::Time now);
int32_t ScaleDownLimit(int32_t current, const std::vector<ScaleEvent>& up_events,
                       const std::vector<ScaleEvent>& down_events, const ResolvedRules& rules,
                       absl::Time now);

}  // namespace tide::autoscaler
