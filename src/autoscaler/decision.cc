#include "autoscaler/decision.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "autoscaler/normalization.h"

namespace tide::autoscaler {
namespace {

MetricStatus Invalid(std::string reason, std::string error) {
  MetricStatus st;
  st.valid = false;
  st.reason = std::move(reason);
  st.error = std::move(error);
  return st;
}

MetricStatus FromProposal(const absl::StatusOr<MetricProposal>& r, const char* reason,
                          const std::string& what) {
  if (!r.ok()) {
    return Invalid(reason, absl::StrCat("failed to get ", what, ": ", r.status().message()));
  }
  MetricStatus st;
  st.valid = true;
  st.replicas = r->replicas;
  st.utilization = r->utilization;
  st.raw_utilization = r->raw_utilization;
  st.usage = r->usage;
  return st;
}

// computeReplicasForMetric
MetricStatus ComputeMetric(const MetricSpec& m, const CalculatorParams& p, const Snapshot& s) {
  const int32_t current = s.current_replicas;
  if (m.type == "Resource" || m.type == "ContainerResource") {
    const bool container = m.type == "ContainerResource";
    const char* reason = container ? "FailedGetContainerResourceMetric" : "FailedGetResourceMetric";
    if ((container && !m.container_resource) || (!container && !m.resource)) {
      return Invalid(reason, absl::StrCat("invalid metric source: type ", m.type,
                                          " without its source field"));
    }
    const std::string& name = container ? m.container_resource->name : m.resource->name;
    const std::string empty;
    const std::string& cname = container ? m.container_resource->container : empty;
    const MetricTarget& t = container ? m.container_resource->target : m.resource->target;
    const std::string what = container ? absl::StrCat(cname, " container metric value")
                                       : absl::StrCat(name, " resource metric value");
    if (t.average_value) {
      return FromProposal(
          ResourceAverageValueReplicas(p, current, t.average_value->MilliValue(), name, cname, s),
          reason, what);
    }
    if (t.average_utilization) {
      return FromProposal(
          ResourceUtilizationReplicas(p, current, *t.average_utilization, name, cname, s), reason,
          what);
    }
    return Invalid(reason,
                   "invalid resource metric source: neither an average utilization target nor an "
                   "average value (usage) target was set");
  }
  if (m.type == "Pods") {
    if (!m.pods || !m.pods->target.average_value) {
      return Invalid("FailedGetPodsMetric",
                     "invalid pods metric source: no average value target was set");
    }
    return FromProposal(PodsMetricReplicas(p, current, m.pods->target.average_value->MilliValue(),
                                           m.pods->metric.name, s),
                        "FailedGetPodsMetric", "pods metric value");
  }
  if (m.type == "Object") {
    const char* reason = "FailedGetObjectMetric";
    if (m.object && m.object->target.type == "Value" && m.object->target.value) {
      return FromProposal(ObjectValueReplicas(p, current, m.object->target.value->MilliValue(),
                                              m.object->metric.name, s),
                          reason, "object metric value");
    }
    if (m.object && m.object->target.type == "AverageValue" && m.object->target.average_value) {
      return FromProposal(ObjectAverageValueReplicas(p, s.status_replicas,
                                                     m.object->target.average_value->MilliValue(),
                                                     m.object->metric.name, s),
                          reason, "object metric value");
    }
    return Invalid(reason,
                   "invalid object metric source: neither a value target nor an average value "
                   "target was set");
  }
  if (m.type == "External") {
    const char* reason = "FailedGetExternalMetric";
    if (m.external && m.external->target.average_value) {
      return FromProposal(ExternalAverageValueReplicas(
                              p, s.status_replicas, m.external->target.average_value->MilliValue(),
                              m.external->metric.name, s),
                          reason, absl::StrCat(m.external->metric.name, " external metric value"));
    }
    if (m.external && m.external->target.value) {
      return FromProposal(ExternalValueReplicas(p, current, m.external->target.value->MilliValue(),
                                                m.external->metric.name, s),
                          reason, absl::StrCat(m.external->metric.name, " external metric value"));
    }
    return Invalid(reason,
                   "invalid external metric source: neither a value target nor an average value "
                   "target was set");
  }
  return Invalid("InvalidMetricSourceType",
                 absl::StrCat("unknown metric source type \"", m.type, "\""));
}

bool HasObjectOrExternal(const HpaSpec& spec) {
  for (const MetricSpec& m : spec.metrics) {
    if (m.type == "Object" || m.type == "External") return true;
  }
  return false;
}

int32_t LongestPeriod(const ResolvedRules& r) {
  int32_t longest = 0;
  for (const ScalingPolicy& p : *r.policies) longest = std::max(longest, p.period_seconds);
  return longest;
}

void StoreEvent(std::vector<ScaleEvent>* events, int32_t longest_period, int32_t change,
                absl::Time now) {
  const absl::Time cutoff = now - absl::Seconds(longest_period);
  int old_index = -1;
  for (size_t i = 0; i < events->size(); ++i) {
    if ((*events)[i].timestamp < cutoff) (*events)[i].outdated = true;
    if ((*events)[i].outdated) old_index = static_cast<int>(i);
  }
  ScaleEvent e{now, change, false};
  if (old_index >= 0) {
    (*events)[old_index] = e;
  } else {
    events->push_back(e);
  }
}

}  // namespace

Tolerances TolerancesFor(const HpaSpec& spec, const ControllerConfig& config) {
  Tolerances t{config.tolerance, config.tolerance};
  if (spec.behavior && config.configurable_tolerance) {
    const Behavior& b = *spec.behavior;
    if (b.scale_down && b.scale_down->tolerance)
      t.down = b.scale_down->tolerance->AsApproximateFloat64();
    if (b.scale_up && b.scale_up->tolerance) t.up = b.scale_up->tolerance->AsApproximateFloat64();
  }
  return t;
}

Decision Decide(const HpaSpec& spec, const ControllerConfig& config, const Snapshot& snapshot,
                absl::Time now, History* history) {
  const int32_t current = snapshot.current_replicas;
  Decision d;
  d.current_replicas = current;
  d.desired_replicas = current;
  if (!history->initialized) {
    history->recommendations.assign(1, TimestampedRecommendation{now, current});
    history->initialized = true;
  }
  const int32_t min_replicas = spec.MinReplicasOrDefault();
  const int32_t max_replicas = spec.max_replicas;
  const bool condition_mode =
      config.scale_from_zero == ControllerConfig::ScaleFromZero::kScaledToZeroCondition;
  const bool scaled_to_zero = config.hpa_scale_to_zero && snapshot.scaled_to_zero_condition;

  // Early exits (3.1).
  if (current == 0) {
    bool evaluate = condition_mode ? (min_replicas != 0 && scaled_to_zero) ||
                                         (scaled_to_zero && HasObjectOrExternal(spec))
                                   : min_replicas == 0;
    if (!evaluate) {
      d.desired_replicas = 0;
      d.reason = "ScalingDisabled";
      d.message = "scaling is disabled since the replica count of the target is zero";
      return d;
    }
  } else if (current > max_replicas) {
    d.desired_replicas = max_replicas;
    d.rescale = true;
    d.reason = "TooManyReplicas";
    d.message =
        absl::StrCat("Current number of replicas above Spec.MaxReplicas; New size: ", max_replicas);
    return d;
  } else if (current < min_replicas) {
    d.desired_replicas = min_replicas;
    d.rescale = true;
    d.reason = "TooFewReplicas";
    d.message =
        absl::StrCat("Current number of replicas below Spec.MinReplicas; New size: ", min_replicas);
    return d;
  }

  // computeReplicasForMetrics (3.2).
  d.metrics_evaluated = true;
  CalculatorParams params;
  params.tolerances = TolerancesFor(spec, config);
  params.cpu_initialization_period = config.cpu_initialization_period;
  params.delay_of_initial_readiness_status = config.delay_of_initial_readiness_status;
  params.pod_level_resources = config.pod_level_resources;
  params.missing_pods_use_target_above_100 = config.missing_pods_use_target_above_100;
  params.now = now;
  d.metrics.reserve(spec.metrics.size());
  int32_t proposal = 0;
  int invalid = 0;
  int first_invalid = -1;
  int max_metric = -1;
  for (size_t i = 0; i < spec.metrics.size(); ++i) {
    d.metrics.push_back(ComputeMetric(spec.metrics[i], params, snapshot));
    const MetricStatus& st = d.metrics.back();
    if (!st.valid) {
      if (first_invalid < 0) first_invalid = static_cast<int>(i);
      ++invalid;
    } else if (proposal == 0 || st.replicas > proposal) {
      proposal = st.replicas;
      max_metric = static_cast<int>(i);
    }
  }
  const int n = static_cast<int>(spec.metrics.size());
  if (n == 0) {  // only reachable with a spec that skipped ApplyDefaults()
    d.error = true;
    d.error_message = "the HPA has no metrics";
    d.reason = "InvalidMetricSourceType";
    d.message = d.error_message;
    return d;
  }
  if (invalid >= n || (invalid > 0 && proposal < current)) {
    const MetricStatus& bad = d.metrics[first_invalid];
    d.error = true;
    d.error_message = bad.error;
    d.reason = bad.reason;
    d.message = absl::StrCat("the HPA was unable to compute the replica count: ", bad.error);
    return d;
  }
  proposal = std::max(0, proposal);
  d.proposal = proposal;

  // Normalization (8, 9).
  Normalized norm;
  if (spec.behavior) {
    BehaviorParams bp;
    bp.current_replicas = current;
    bp.min_replicas = min_replicas;
    bp.max_replicas = max_replicas;
    bp.up = ResolveScaleUp(*spec.behavior);
    bp.down = ResolveScaleDown(*spec.behavior, config.downscale_stabilization_window);
    norm = NormalizeWithBehavior(bp, proposal, now, *history, &history->recommendations);
  } else {
    LegacyParams lp;
    lp.current_replicas = current;
    lp.min_replicas = min_replicas;
    lp.max_replicas = max_replicas;
    lp.downscale_window = config.downscale_stabilization_window;
    lp.scale_up_limit_factor = config.scale_up_limit_factor;
    lp.scale_up_limit_minimum = config.scale_up_limit_minimum;
    norm = NormalizeLegacy(lp, proposal, now, &history->recommendations);
  }
  int32_t desired = norm.replicas;
  if (condition_mode && current == 0 && min_replicas != 0 && scaled_to_zero &&
      desired < min_replicas) {
    desired = min_replicas;
  }
  d.desired_replicas = desired;
  d.rescale = desired != current;

  std::string why;
  if (norm.limit_reason != "DesiredWithinRange") {
    d.reason = std::string(norm.limit_reason);
    why = std::string(norm.limit_message);
  } else if (!norm.stabilize_reason.empty()) {
    d.reason = std::string(norm.stabilize_reason);
    why = norm.stabilize_reason == "ScaleUpStabilized"
              ? "recent recommendations were lower than current one, applying the lowest recent "
                "recommendation"
              : "recent recommendations were higher than current one, applying the highest recent "
                "recommendation";
  } else {
    d.reason = "DesiredWithinRange";
    why = std::string(norm.limit_message);
  }
  std::string driver = max_metric >= 0 ? spec.metrics[max_metric].Describe() : "no metric";
  if (d.rescale) {
    d.message = absl::StrCat(
        "New size: ", desired,
        "; reason: ", desired > current ? driver + " above target" : "All metrics below target",
        " (proposal ", proposal, "); ", why);
  } else {
    d.message = absl::StrCat("Keeping ", current, " replicas (proposal ", proposal, "); ", why);
  }
  if (invalid > 0) {
    d.error = true;
    d.error_message = d.metrics[first_invalid].error;
  }
  return d;
}

bool ScaledToZeroAfterScale(const HpaSpec& spec, const ControllerConfig& config, int32_t previous,
                            int32_t desired) {
  if (!config.hpa_scale_to_zero) return false;
  return previous > 0 && desired == 0 && spec.MinReplicasOrDefault() == 0 &&
         HasObjectOrExternal(spec);
}

void RecordScale(const HpaSpec& spec, int32_t previous, int32_t desired, absl::Time now,
                 History* history) {
  if (!spec.behavior || desired == previous) return;
  if (desired > previous) {
    StoreEvent(&history->scale_up_events, LongestPeriod(ResolveScaleUp(*spec.behavior)),
               desired - previous, now);
  } else {
    StoreEvent(&history->scale_down_events,
               LongestPeriod(ResolveScaleDown(*spec.behavior, absl::ZeroDuration())),
               previous - desired, now);
  }
}

}  // namespace tide::autoscaler

namespace tide::autoscaler {

ControllerConfig ControllerConfig::UpstreamUnitTest() {
  ControllerConfig c;
  c.scale_up_limit_factor = 8.0;
  c.cpu_initialization_period = absl::Minutes(2);
  c.delay_of_initial_readiness_status = absl::Seconds(10);
  return c;
}

}  // namespace tide::autoscaler
