#include "autoscaler/replica_calculator.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "autoscaler/absl_compat.h"
#include "common/status_macros.h"

namespace tide::autoscaler {
namespace {

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinInt64 = std::numeric_limits<int64_t>::min();
constexpr int32_t kMaxInt32 = std::numeric_limits<int32_t>::max();

using RequestMap = absl::flat_hash_map<absl::string_view, int64_t>;

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMaxInt64 : kMinInt64;
  return r;
}

int64_t ClampToInt64(__int128 v) {
  if (v > kMaxInt64) return kMaxInt64;
  if (v < kMinInt64) return kMinInt64;
  return static_cast<int64_t>(v);
}

// Go's int32(math.Ceil(x)) where upstream does not guard it. In-range values
// are exact; out-of-range values saturate (Go's result is platform-defined).
int32_t CeilToInt32(double x) { return CeilToInt32Saturating(x); }

// Go's int64(math.Ceil(x)) with the MaxInt64 guard of the per-pod usages.
int64_t CeilToInt64Saturating(double x) {
  if (std::isnan(x)) return 0;
  double c = std::ceil(x);
  if (c >= 9223372036854775808.0) return kMaxInt64;
  if (c < -9223372036854775808.0) return kMinInt64;
  return static_cast<int64_t>(c);
}

bool IsPodReady(const PodInfo& pod) { return pod.ready.has_value() && *pod.ready; }

absl::StatusOr<SampleMap> ResourceSamples(std::string_view resource, std::string_view container,
                                          const Snapshot& snapshot) {
  const MetricsData& m = snapshot.metrics;
  SampleMap samples;
  auto no_metrics = [&] {
    return absl::InvalidArgumentError(absl::StrCat("unable to get metrics for resource ", AV(resource),
                                                   ": no metrics returned from resource metrics API"));
  };
  if (container.empty()) {
    auto it = m.pod_metrics.find(AV(resource));
    if (it != m.pod_metrics.end()) {
      if (it->second.empty()) return no_metrics();
      samples.reserve(it->second.size());
      for (const auto& [pod, sample] : it->second) {
        if (sample.has_value()) samples.emplace(pod, *sample);
      }
      return samples;
    }
  }
  auto it = m.container_metrics.find(AV(resource));
  if (it == m.container_metrics.end() || it->second.empty()) return no_metrics();
  samples.reserve(it->second.size());
  for (const auto& [pod, containers] : it->second) {
    if (!container.empty()) {
      auto c = containers.find(AV(container));
      if (c != containers.end() && c->second.has_value()) samples.emplace(pod, *c->second);
      continue;
    }
    // Pod total: every container must report the resource.
    if (containers.empty()) continue;
    Sample total;
    bool complete = true;
    bool first = true;
    for (const auto& [name, sample] : containers) {
      if (!sample.has_value()) {
        complete = false;
        break;
      }
      if (first) {
        total.timestamp = sample->timestamp;
        total.window = sample->window;
        first = false;
      }
      total.milli_value = SaturatingAdd(total.milli_value, sample->milli_value);
    }
    if (complete) samples.emplace(pod, total);
  }
  return samples;
}

absl::StatusOr<int64_t> ContainerRequests(const PodInfo& pod, std::string_view container,
                                          std::string_view resource) {
  if (!container.empty()) {
    bool found = false;
    for (const ContainerInfo& c : pod.containers) found |= c.name == container;
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("container ", AV(container), " not found in Pod ", pod.name));
    }
  }
  int64_t request = 0;
  auto add = [&](const ContainerInfo& c) -> absl::Status {
    const Quantity* q = c.Request(resource);
    if (q == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("missing request for ", AV(resource),
                                                     " in container ", c.name, " of Pod ", pod.name));
    }
    request = SaturatingAdd(request, q->MilliValue());
    return absl::OkStatus();
  };
  for (const ContainerInfo& c : pod.containers) {
    if (container.empty() || container == c.name) RETURN_IF_ERROR(add(c));
  }
  if (container.empty()) {
    for (const ContainerInfo& c : pod.init_containers) {
      if (c.restart_policy == "Always") RETURN_IF_ERROR(add(c));
    }
  }
  return request;
}

absl::StatusOr<RequestMap> CalculateRequests(const std::vector<PodInfo>& pods,
                                             std::string_view container, std::string_view resource,
                                             bool pod_level_resources) {
  RequestMap requests;
  requests.reserve(pods.size());
  for (const PodInfo& pod : pods) {
    int64_t request = 0;
    if (pod_level_resources && !pod.pod_requests.empty() && container.empty()) {
      const Quantity* q = nullptr;
      for (const auto& [name, value] : pod.pod_requests) {
        if (name == resource) q = &value;
      }
      if (q == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("missing pod-level request for ", AV(resource), " in Pod ", pod.name));
      }
      request = q->MilliValue();
    } else {
      ASSIGN_OR_RETURN(request, ContainerRequests(pod, container, resource));
    }
    requests[pod.name] = request;
  }
  return requests;
}

struct UtilizationRatio {
  double ratio = 0;
  int32_t utilization = 0;
  int64_t raw = 0;
};

// metrics/utilization.go: GetResourceUtilizationRatio
absl::StatusOr<UtilizationRatio> ResourceUtilizationRatio(const SampleMap& samples,
                                                          const RequestMap& requests,
                                                          int32_t target) {
  __int128 metrics_total = 0;
  __int128 requests_total = 0;
  int64_t entries = 0;
  for (const auto& [pod, sample] : samples) {
    auto r = requests.find(pod);
    if (r == requests.end()) continue;
    metrics_total += sample.milli_value;
    requests_total += r->second;
    ++entries;
  }
  if (requests_total == 0) {
    return absl::InvalidArgumentError("no metrics returned matched known pods");
  }
  int64_t util = ClampToInt64(metrics_total * 100 / requests_total);
  UtilizationRatio out;
  out.utilization = static_cast<int32_t>(
      std::clamp<int64_t>(util, std::numeric_limits<int32_t>::min(), kMaxInt32));
  out.ratio = static_cast<double>(out.utilization) / static_cast<double>(target);
  out.raw = ClampToInt64(metrics_total / entries);
  return out;
}

// metrics/utilization.go: GetMetricUsageRatio
std::pair<double, int64_t> MetricUsageRatio(const SampleMap& samples, int64_t target) {
  __int128 total = 0;
  for (const auto& [pod, sample] : samples) total += sample.milli_value;
  int64_t usage = ClampToInt64(total / static_cast<__int128>(samples.size()));
  return {static_cast<double>(usage) / static_cast<double>(target), usage};
}

void RemovePods(SampleMap* samples, const std::vector<std::string_view>& pods) {
  for (std::string_view pod : pods) samples->erase(AV(pod));
}

absl::Status NoPods() {
  return absl::InvalidArgumentError("no pods returned by selector while calculating replica count");
}

absl::Status NoReadyMetrics() {
  return absl::InvalidArgumentError(
      "did not receive metrics for targeted pods (pods might be unready)");
}

// calcPlainMetricReplicas: Pods metrics and Resource averageValue targets.
absl::StatusOr<MetricProposal> PlainMetricReplicas(const CalculatorParams& p, SampleMap samples,
                                                   int32_t current, int64_t target,
                                                   std::string_view resource,
                                                   const Snapshot& snapshot) {
  if (snapshot.pods.empty()) return NoPods();
  PodGroups g = GroupPods(snapshot.pods, samples, resource == "cpu", p.cpu_initialization_period,
                          p.delay_of_initial_readiness_status, p.now);
  RemovePods(&samples, g.ignored);
  RemovePods(&samples, g.unready);
  if (samples.empty()) return NoReadyMetrics();

  auto [ratio, usage] = MetricUsageRatio(samples, target);
  MetricProposal out;
  out.usage = usage;
  const bool scale_up_with_unready = !g.unready.empty() && ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    out.replicas = p.tolerances.IsWithin(ratio)
                       ? current
                       : CeilToInt32(ratio * static_cast<double>(g.ready_count));
    return out;
  }
  if (!g.missing.empty()) {
    if (ratio < 1.0) {
      for (std::string_view pod : g.missing) samples[AV(pod)] = Sample{target};
    } else if (ratio > 1.0) {
      for (std::string_view pod : g.missing) samples[AV(pod)] = Sample{0};
    }
  }
  if (scale_up_with_unready) {
    for (std::string_view pod : g.unready) samples[AV(pod)] = Sample{0};
  }
  double new_ratio = MetricUsageRatio(samples, target).first;
  if (p.tolerances.IsWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    out.replicas = current;
    return out;
  }
  int32_t replicas = CeilToInt32(new_ratio * static_cast<double>(samples.size()));
  if ((new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current)) {
    replicas = current;
  }
  out.replicas = replicas;
  return out;
}

// getReadyPodsCount: Running pods whose Ready condition is True.
absl::StatusOr<int64_t> ReadyPodsCount(const Snapshot& snapshot) {
  if (snapshot.pods.empty()) {
    return absl::InvalidArgumentError(
        "unable to calculate ready pods: no pods returned by selector while calculating replica "
        "count");
  }
  int64_t n = 0;
  for (const PodInfo& pod : snapshot.pods) {
    if (pod.phase == PodPhase::kRunning && IsPodReady(pod)) ++n;
  }
  return n;
}

// getUsageRatioReplicaCount
absl::StatusOr<int32_t> UsageRatioReplicaCount(const CalculatorParams& p, int32_t current,
                                               double ratio, const Snapshot& snapshot) {
  if (current != 0) {
    if (p.tolerances.IsWithin(ratio)) return current;
    ASSIGN_OR_RETURN(int64_t ready, ReadyPodsCount(snapshot));
    return CeilToInt32Saturating(ratio * static_cast<double>(ready));
  }
  return CeilToInt32Saturating(ratio);
}

absl::StatusOr<int64_t> ExternalTotal(std::string_view name, const Snapshot& snapshot) {
  auto it = snapshot.metrics.external_metrics.find(AV(name));
  if (it == snapshot.metrics.external_metrics.end() || it->second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unable to get external metric ", AV(name), ": no metrics returned from external metrics API"));
  }
  int64_t total = 0;
  for (int64_t v : it->second) total = SaturatingAdd(total, v);
  return total;
}

absl::StatusOr<int64_t> ObjectValue(std::string_view name, const Snapshot& snapshot) {
  auto it = snapshot.metrics.object_metrics.find(AV(name));
  if (it == snapshot.metrics.object_metrics.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to get metric ", AV(name), ": no metric returned from custom metrics API"));
  }
  return it->second;
}

}  // namespace

int32_t CeilToInt32Saturating(double x) {
  if (std::isnan(x)) return 0;
  double c = std::ceil(x);
  if (c >= 2147483647.0) return kMaxInt32;
  if (c <= -2147483648.0) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(c);
}

PodGroups GroupPods(const std::vector<PodInfo>& pods, const SampleMap& samples, bool is_cpu,
                    absl::Duration cpu_init, absl::Duration readiness_delay, absl::Time now) {
  PodGroups g;
  for (const PodInfo& pod : pods) {
    if (pod.deleting || pod.phase == PodPhase::kFailed) {
      g.ignored.push_back(pod.name);
      continue;
    }
    if (pod.phase == PodPhase::kPending) {
      g.unready.push_back(pod.name);
      continue;
    }
    auto it = samples.find(pod.name);
    if (it == samples.end()) {
      g.missing.push_back(pod.name);
      continue;
    }
    if (is_cpu) {
      bool unready;
      if (!pod.ready.has_value() || !pod.start_time.has_value()) {
        unready = true;
      } else if (*pod.start_time + cpu_init > now) {
        // Within the initialization period: unready, or no full window since
        // the last readiness change.
        unready = !*pod.ready || it->second.timestamp < pod.ready_transition_time + it->second.window;
      } else {
        // After it: unready and (probably) never ready.
        unready = !*pod.ready && *pod.start_time + readiness_delay > pod.ready_transition_time;
      }
      if (unready) {
        g.unready.push_back(pod.name);
        continue;
      }
    }
    ++g.ready_count;
  }
  return g;
}

absl::StatusOr<MetricProposal> ResourceUtilizationReplicas(const CalculatorParams& p,
                                                           int32_t current, int32_t target,
                                                           std::string_view resource,
                                                           std::string_view container,
                                                           const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(SampleMap samples, ResourceSamples(resource, container, snapshot));
  if (snapshot.pods.empty()) return NoPods();
  PodGroups g = GroupPods(snapshot.pods, samples, resource == "cpu", p.cpu_initialization_period,
                          p.delay_of_initial_readiness_status, p.now);
  RemovePods(&samples, g.ignored);
  RemovePods(&samples, g.unready);
  ASSIGN_OR_RETURN(RequestMap requests,
                   CalculateRequests(snapshot.pods, container, resource, p.pod_level_resources));
  if (samples.empty()) return NoReadyMetrics();

  ASSIGN_OR_RETURN(UtilizationRatio r, ResourceUtilizationRatio(samples, requests, target));
  MetricProposal out;
  out.utilization = r.utilization;
  out.raw_utilization = r.raw;
  const double ratio = r.ratio;
  const bool scale_up_with_unready = !g.unready.empty() && ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    out.replicas = p.tolerances.IsWithin(ratio)
                       ? current
                       : CeilToInt32(ratio * static_cast<double>(g.ready_count));
    return out;
  }
  if (!g.missing.empty()) {
    if (ratio < 1.0) {
      // A missing pod is assumed to use max(100, target)% of its request
      // (older releases: exactly its request).
      int64_t fallback = p.missing_pods_use_target_above_100 ? std::max<int64_t>(100, target) : 100;
      for (std::string_view pod : g.missing) {
        samples[AV(pod)] = Sample{ClampToInt64(static_cast<__int128>(requests[AV(pod)]) * fallback / 100)};
      }
    } else if (ratio > 1.0) {
      for (std::string_view pod : g.missing) samples[AV(pod)] = Sample{0};
    }
  }
  if (scale_up_with_unready) {
    for (std::string_view pod : g.unready) samples[AV(pod)] = Sample{0};
  }
  ASSIGN_OR_RETURN(UtilizationRatio nr, ResourceUtilizationRatio(samples, requests, target));
  const double new_ratio = nr.ratio;
  if (p.tolerances.IsWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    out.replicas = current;
    return out;
  }
  int32_t replicas = CeilToInt32(new_ratio * static_cast<double>(samples.size()));
  if ((new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current)) {
    replicas = current;
  }
  out.replicas = replicas;
  return out;
}

absl::StatusOr<MetricProposal> ResourceAverageValueReplicas(const CalculatorParams& p,
                                                            int32_t current, int64_t target_milli,
                                                            std::string_view resource,
                                                            std::string_view container,
                                                            const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(SampleMap samples, ResourceSamples(resource, container, snapshot));
  return PlainMetricReplicas(p, std::move(samples), current, target_milli, resource, snapshot);
}

absl::StatusOr<MetricProposal> PodsMetricReplicas(const CalculatorParams& p, int32_t current,
                                                  int64_t target_milli,
                                                  std::string_view metric_name,
                                                  const Snapshot& snapshot) {
  auto it = snapshot.metrics.pod_metrics.find(AV(metric_name));
  if (it == snapshot.metrics.pod_metrics.end() || it->second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unable to get metric ", AV(metric_name), ": no metrics returned from custom metrics API"));
  }
  SampleMap samples;
  samples.reserve(it->second.size());
  for (const auto& [pod, sample] : it->second) {
    if (sample.has_value()) samples.emplace(pod, *sample);
  }
  // Pods metrics never apply the CPU readiness rules (resource name "").
  return PlainMetricReplicas(p, std::move(samples), current, target_milli, "", snapshot);
}

absl::StatusOr<MetricProposal> ObjectValueReplicas(const CalculatorParams& p, int32_t current,
                                                   int64_t target_milli,
                                                   std::string_view metric_name,
                                                   const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(int64_t usage, ObjectValue(metric_name, snapshot));
  double ratio = static_cast<double>(usage) / static_cast<double>(target_milli);
  MetricProposal out;
  ASSIGN_OR_RETURN(out.replicas, UsageRatioReplicaCount(p, current, ratio, snapshot));
  out.usage = usage;
  return out;
}

absl::StatusOr<MetricProposal> ObjectAverageValueReplicas(const CalculatorParams& p,
                                                          int32_t status_replicas,
                                                          int64_t target_milli,
                                                          std::string_view metric_name,
                                                          const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(int64_t usage, ObjectValue(metric_name, snapshot));
  MetricProposal out;
  out.replicas = status_replicas;
  double ratio = static_cast<double>(usage) /
                 (static_cast<double>(target_milli) * static_cast<double>(status_replicas));
  if (!p.tolerances.IsWithin(ratio)) {
    out.replicas = CeilToInt32(static_cast<double>(usage) / static_cast<double>(target_milli));
  }
  out.usage = CeilToInt64Saturating(static_cast<double>(usage) / static_cast<double>(status_replicas));
  return out;
}

absl::StatusOr<MetricProposal> ExternalValueReplicas(const CalculatorParams& p, int32_t current,
                                                     int64_t target_milli,
                                                     std::string_view metric_name,
                                                     const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(int64_t usage, ExternalTotal(metric_name, snapshot));
  double ratio = static_cast<double>(usage) / static_cast<double>(target_milli);
  MetricProposal out;
  ASSIGN_OR_RETURN(out.replicas, UsageRatioReplicaCount(p, current, ratio, snapshot));
  out.usage = usage;
  return out;
}

absl::StatusOr<MetricProposal> ExternalAverageValueReplicas(const CalculatorParams& p,
                                                            int32_t status_replicas,
                                                            int64_t target_milli,
                                                            std::string_view metric_name,
                                                            const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(int64_t usage, ExternalTotal(metric_name, snapshot));
  MetricProposal out;
  out.replicas = status_replicas;
  double ratio = static_cast<double>(usage) /
                 (static_cast<double>(target_milli) * static_cast<double>(status_replicas));
  if (!p.tolerances.IsWithin(ratio)) {
    out.replicas =
        CeilToInt32Saturating(static_cast<double>(usage) / static_cast<double>(target_milli));
  }
  out.usage = CeilToInt64Saturating(static_cast<double>(usage) / static_cast<double>(status_replicas));
  return out;
}

}  // namespace tide::autoscaler
