#include "autoscaler/normalization.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tide::autoscaler {
namespace {

constexpr int32_t kMaxInt32 = std::numeric_limits<int32_t>::max();
constexpr int32_t kMinInt32 = std::numeric_limits<int32_t>::min();

int32_t ClampInt32(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, kMinInt32, kMaxInt32));
}

// Go's int32(float64) conversion, saturated where Go's is platform-defined.
int32_t TruncToInt32(double x) {
  if (std::isnan(x)) return kMinInt32;
  if (x >= 2147483648.0) return kMaxInt32;
  if (x <= -2147483649.0) return kMinInt32;
  return static_cast<int32_t>(x);
}

// getReplicasChangePerPeriod: events strictly newer than now - period.
int64_t ChangeInPeriod(int32_t period_seconds, const std::vector<ScaleEvent>& events,
                       absl::Time now) {
  absl::Time cutoff = now - absl::Seconds(period_seconds);
  int64_t sum = 0;
  for (const ScaleEvent& e : events) {
    if (e.timestamp > cutoff) sum += e.replicas;
  }
  return sum;
}

const std::vector<ScalingPolicy>& DefaultUpPolicies() {
  static const auto* v = new std::vector<ScalingPolicy>{{"Pods", 4, 15}, {"Percent", 100, 15}};
  return *v;
}
const std::vector<ScalingPolicy>& DefaultDownPolicies() {
  static const auto* v = new std::vector<ScalingPolicy>{{"Percent", 100, 15}};
  return *v;
}

}  // namespace

Normalized NormalizeLegacy(const LegacyParams& p, int32_t proposal, absl::Time now,
                           std::vector<TimestampedRecommendation>* recs) {
  // stabilizeRecommendation: the max over the window; an entry exactly at the
  // cutoff is still inside.
  const absl::Time cutoff = now - p.downscale_window;
  int32_t stabilized = proposal;
  int old_index = -1;
  for (size_t i = 0; i < recs->size(); ++i) {
    const TimestampedRecommendation& r = (*recs)[i];
    if (r.timestamp < cutoff) {
      old_index = static_cast<int>(i);
    } else if (r.replicas > stabilized) {
      stabilized = r.replicas;
    }
  }
  if (old_index >= 0) {
    (*recs)[old_index] = {now, proposal};
  } else {
    recs->push_back({now, proposal});
  }

  Normalized out;
  out.stabilized = stabilized;
  if (stabilized != proposal) out.stabilize_reason = "ScaleDownStabilized";

  // convertDesiredReplicasWithRules
  const int32_t scale_up_limit = TruncToInt32(std::max(
      p.scale_up_limit_factor * static_cast<double>(p.current_replicas), p.scale_up_limit_minimum));
  int32_t max_allowed;
  std::string_view reason, message;
  if (p.max_replicas > scale_up_limit) {
    max_allowed = scale_up_limit;
    reason = "ScaleUpLimit";
    message = "the desired replica count is increasing faster than the maximum scale rate";
  } else {
    max_allowed = p.max_replicas;
    reason = "TooManyReplicas";
    message = "the desired replica count is more than the maximum replica count";
  }
  if (stabilized < p.min_replicas) {
    out.replicas = p.min_replicas;
    out.limit_reason = "TooFewReplicas";
    out.limit_message = "the desired replica count is less than the minimum replica count";
  } else if (stabilized > max_allowed) {
    out.replicas = max_allowed;
    out.limit_reason = reason;
    out.limit_message = message;
  } else {
    out.replicas = stabilized;
    out.limit_reason = "DesiredWithinRange";
    out.limit_message = "the desired count is within the acceptable range";
  }
  return out;
}

ResolvedRules ResolveScaleUp(const Behavior& b) {
  ResolvedRules r{absl::ZeroDuration(), "Max", &DefaultUpPolicies()};
  if (b.scale_up) {
    if (b.scale_up->stabilization_window_seconds) {
      r.window = absl::Seconds(*b.scale_up->stabilization_window_seconds);
    }
    if (b.scale_up->select_policy) r.select_policy = *b.scale_up->select_policy;
    if (b.scale_up->policies) r.policies = &*b.scale_up->policies;
  }
  return r;
}

ResolvedRules ResolveScaleDown(const Behavior& b, absl::Duration downscale_window) {
  ResolvedRules r{downscale_window, "Max", &DefaultDownPolicies()};
  if (b.scale_down) {
    if (b.scale_down->stabilization_window_seconds) {
      r.window = absl::Seconds(*b.scale_down->stabilization_window_seconds);
    }
    if (b.scale_down->select_policy) r.select_policy = *b.scale_down->select_policy;
    if (b.scale_down->policies) r.policies = &*b.scale_down->policies;
  }
  return r;
}

int32_t ScaleUpLimit(int32_t current, const std::vector<ScaleEvent>& up_events,
                     const std::vector<ScaleEvent>& down_events, const ResolvedRules& rules,
                     absl::Time now) {
  if (rules.select_policy == "Disabled") return current;
  const bool min_change = rules.select_policy == "Min";
  int32_t result = min_change ? kMaxInt32 : kMinInt32;
  int32_t proposed = 0;  // carried across iterations, as in Go
  for (const ScalingPolicy& policy : *rules.policies) {
    int64_t start = static_cast<int64_t>(current) -
                    ChangeInPeriod(policy.period_seconds, up_events, now) +
                    ChangeInPeriod(policy.period_seconds, down_events, now);
    if (policy.type == "Pods") {
      proposed = ClampInt32(start + policy.value);
    } else if (policy.type == "Percent") {
      proposed = TruncToInt32(std::ceil(static_cast<double>(ClampInt32(start)) *
                                        (1 + static_cast<double>(policy.value) / 100)));
    }
    result = min_change ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int32_t ScaleDownLimit(int32_t current, const std::vector<ScaleEvent>& up_events,
                       const std::vector<ScaleEvent>& down_events, const ResolvedRules& rules,
                       absl::Time now) {
  if (rules.select_policy == "Disabled") return current;
  const bool min_change = rules.select_policy == "Min";
  int32_t result = min_change ? kMinInt32 : kMaxInt32;
  int32_t proposed = 0;
  for (const ScalingPolicy& policy : *rules.policies) {
    int64_t start = static_cast<int64_t>(current) -
                    ChangeInPeriod(policy.period_seconds, up_events, now) +
                    ChangeInPeriod(policy.period_seconds, down_events, now);
    if (policy.type == "Pods") {
      proposed = ClampInt32(start - policy.value);
    } else if (policy.type == "Percent") {
      // Truncated toward zero, as Go's int32() conversion does.
      proposed = TruncToInt32(static_cast<double>(ClampInt32(start)) *
                              (1 - static_cast<double>(policy.value) / 100));
    }
    result = min_change ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

Normalized NormalizeWithBehavior(const BehaviorParams& p, int32_t proposal, absl::Time now,
                                 const History& events,
                                 std::vector<TimestampedRecommendation>* recs) {
  // stabilizeRecommendationWithBehaviors
  const absl::Time up_cutoff = now - p.up.window;
  const absl::Time down_cutoff = now - p.down.window;
  int32_t up_rec = proposal;
  int32_t down_rec = proposal;
  int old_index = -1;
  for (size_t i = 0; i < recs->size(); ++i) {
    const TimestampedRecommendation& r = (*recs)[i];
    if (r.timestamp > up_cutoff) up_rec = std::min(r.replicas, up_rec);
    if (r.timestamp > down_cutoff) down_rec = std::max(r.replicas, down_rec);
    if (r.timestamp < up_cutoff && r.timestamp < down_cutoff) old_index = static_cast<int>(i);
  }
  int32_t rec = p.current_replicas;
  if (rec < up_rec) rec = up_rec;
  if (rec > down_rec) rec = down_rec;
  if (old_index >= 0) {
    (*recs)[old_index] = {now, proposal};
  } else {
    recs->push_back({now, proposal});
  }

  Normalized out;
  out.stabilized = rec;
  if (rec != proposal) {
    out.stabilize_reason =
        proposal >= p.current_replicas ? "ScaleUpStabilized" : "ScaleDownStabilized";
  }

  // convertDesiredReplicasWithBehaviorRate
  out.replicas = rec;
  out.limit_reason = "DesiredWithinRange";
  out.limit_message = "the desired count is within the acceptable range";
  if (rec > p.current_replicas) {
    int32_t limit = ScaleUpLimit(p.current_replicas, events.scale_up_events,
                                 events.scale_down_events, p.up, now);
    if (limit < p.current_replicas) limit = p.current_replicas;
    int32_t max_allowed = p.max_replicas;
    std::string_view reason, message;
    if (max_allowed > limit) {
      max_allowed = limit;
      reason = "ScaleUpLimit";
      message = "the desired replica count is increasing faster than the maximum scale rate";
    } else {
      reason = "TooManyReplicas";
      message = "the desired replica count is more than the maximum replica count";
    }
    if (rec > max_allowed) {
      out.replicas = max_allowed;
      out.limit_reason = reason;
      out.limit_message = message;
    }
  } else if (rec < p.current_replicas) {
    int32_t limit = ScaleDownLimit(p.current_replicas, events.scale_up_events,
                                   events.scale_down_events, p.down, now);
    if (limit > p.current_replicas) limit = p.current_replicas;
    int32_t min_allowed = p.min_replicas;
    std::string_view reason, message;
    if (min_allowed < limit) {
      min_allowed = limit;
      reason = "ScaleDownLimit";
      message = "the desired replica count is decreasing faster than the maximum scale rate";
    } else {
      reason = "TooFewReplicas";
      message = "the desired replica count is less than the minimum replica count";
    }
    if (rec < min_allowed) {
      out.replicas = min_allowed;
      out.limit_reason = reason;
      out.limit_message = message;
    }
  }
  return out;
}

}  // namespace tide::autoscaler
