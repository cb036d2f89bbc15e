#include "autoscaler/replica_calculator.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autoscaler/absl_compat.h"
#include "common/status_macros.h"

namespace tide::autoscaler {
namespace {

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMinInt64 = std::numeric_limits<int64_t>::min();
constexpr int32_t kMaxInt32 = std::numeric_limits<int32_t>::max();

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

// The samples of one metric aligned with snapshot.pods: upstream's
// PodMetricsInfo map (pod name -> sample), without hashing pod names over and
// over. Samples whose name matches no pod ("superfluous") stay in upstream's
// map; only their count and sum matter, so that is all that is kept.
struct PodSampleSet {
  std::vector<std::optional<Sample>> by_pod;
  int64_t superfluous_count = 0;
  __int128 superfluous_sum = 0;

  // len(metrics) upstream.
  int64_t Size() const {
    int64_t n = superfluous_count;
    for (const auto& s : by_pod) n += s.has_value() ? 1 : 0;
    return n;
  }
};

// Splits `total_*` (every sample the API returned) into the pods' samples and
// the superfluous rest.
void SetSuperfluous(int64_t total_count, __int128 total_sum, PodSampleSet* set) {
  int64_t matched = 0;
  __int128 matched_sum = 0;
  for (const auto& s : set->by_pod) {
    if (s.has_value()) {
      ++matched;
      matched_sum += s->milli_value;
    }
  }
  set->superfluous_count = std::max<int64_t>(0, total_count - matched);
  set->superfluous_sum = set->superfluous_count > 0 ? total_sum - matched_sum : 0;
}

PodSampleSet FromPodSamples(const PodSamples& src, const std::vector<PodInfo>& pods) {
  PodSampleSet set;
  set.by_pod.resize(pods.size());
  for (size_t i = 0; i < pods.size(); ++i) {
    auto it = src.find(pods[i].name);
    if (it != src.end() && it->second.has_value()) set.by_pod[i] = *it->second;
  }
  int64_t total = 0;
  __int128 sum = 0;
  for (const auto& [pod, sample] : src) {
    if (sample.has_value()) {
      ++total;
      sum += sample->milli_value;
    }
  }
  SetSuperfluous(total, sum, &set);
  return set;
}

// A pod's sample from its container samples: the named container's, or the sum
// over all containers (every one must report the resource).
std::optional<Sample> FromContainers(const ContainerSamples& containers,
                                     std::string_view container) {
  if (!container.empty()) {
    auto c = containers.find(AV(container));
    if (c != containers.end() && c->second.has_value()) return *c->second;
    return std::nullopt;
  }
  if (containers.empty()) return std::nullopt;
  Sample total;
  bool first = true;
  for (const auto& [name, sample] : containers) {
    if (!sample.has_value()) return std::nullopt;
    if (first) {
      total.timestamp = sample->timestamp;
      total.window = sample->window;
      first = false;
    }
    total.milli_value = SaturatingAdd(total.milli_value, sample->milli_value);
  }
  return total;
}

absl::StatusOr<PodSampleSet> ResourceSamples(std::string_view resource, std::string_view container,
                                             const Snapshot& snapshot) {
  const MetricsData& m = snapshot.metrics;
  auto no_metrics = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to get metrics for resource ", AV(resource),
                     ": no metrics returned from resource metrics API"));
  };
  if (container.empty()) {
    auto it = m.pod_metrics.find(AV(resource));
    if (it != m.pod_metrics.end()) {
      if (it->second.empty()) return no_metrics();
      return FromPodSamples(it->second, snapshot.pods);
    }
  }
  auto it = m.container_metrics.find(AV(resource));
  if (it == m.container_metrics.end() || it->second.empty()) return no_metrics();
  const auto& by_pod = it->second;
  PodSampleSet set;
  set.by_pod.resize(snapshot.pods.size());
  for (size_t i = 0; i < snapshot.pods.size(); ++i) {
    auto p = by_pod.find(snapshot.pods[i].name);
    if (p != by_pod.end()) set.by_pod[i] = FromContainers(p->second, container);
  }
  int64_t total = 0;
  __int128 sum = 0;
  for (const auto& [pod, containers] : by_pod) {
    std::optional<Sample> s = FromContainers(containers, container);
    if (s.has_value()) {
      ++total;
      sum += s->milli_value;
    }
  }
  SetSuperfluous(total, sum, &set);
  return set;
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
      return absl::InvalidArgumentError(absl::StrCat(
          "missing request for ", AV(resource), " in container ", c.name, " of Pod ", pod.name));
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

// calculateRequests: one request per pod, by pod index.
absl::StatusOr<std::vector<int64_t>> CalculateRequests(const std::vector<PodInfo>& pods,
                                                       std::string_view container,
                                                       std::string_view resource,
                                                       bool pod_level_resources) {
  std::vector<int64_t> requests(pods.size());
  for (size_t i = 0; i < pods.size(); ++i) {
    const PodInfo& pod = pods[i];
    if (pod_level_resources && !pod.pod_requests.empty() && container.empty()) {
      const Quantity* q = nullptr;
      for (const auto& [name, value] : pod.pod_requests) {
        if (name == resource) q = &value;
      }
      if (q == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("missing pod-level request for ", AV(resource), " in Pod ", pod.name));
      }
      requests[i] = q->MilliValue();
    } else {
      ASSIGN_OR_RETURN(requests[i], ContainerRequests(pod, container, resource));
    }
  }
  return requests;
}

struct UtilizationRatio {
  double ratio = 0;
  int32_t utilization = 0;
  int64_t raw = 0;
};

// metrics/utilization.go: GetResourceUtilizationRatio. Superfluous samples
// have no request and are skipped.
absl::StatusOr<UtilizationRatio> ResourceUtilizationRatio(const PodSampleSet& samples,
                                                          const std::vector<int64_t>& requests,
                                                          int32_t target) {
  __int128 metrics_total = 0;
  __int128 requests_total = 0;
  int64_t entries = 0;
  for (size_t i = 0; i < samples.by_pod.size(); ++i) {
    if (!samples.by_pod[i].has_value()) continue;
    metrics_total += samples.by_pod[i]->milli_value;
    requests_total += requests[i];
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

// metrics/utilization.go: GetMetricUsageRatio, over every sample.
std::pair<double, int64_t> MetricUsageRatio(const PodSampleSet& samples, int64_t target) {
  __int128 total = samples.superfluous_sum;
  for (const auto& s : samples.by_pod) {
    if (s.has_value()) total += s->milli_value;
  }
  int64_t usage = ClampToInt64(total / static_cast<__int128>(samples.Size()));
  return {static_cast<double>(usage) / static_cast<double>(target), usage};
}

enum class PodClass : uint8_t { kReady, kUnready, kMissing, kIgnored };

// groupPods; `sample(i)` is pod i's sample or nullptr.
template <typename SampleOf>
int ClassifyPods(const std::vector<PodInfo>& pods, const SampleOf& sample, bool is_cpu,
                 absl::Duration cpu_init, absl::Duration readiness_delay, absl::Time now,
                 std::vector<PodClass>* out) {
  int ready = 0;
  out->assign(pods.size(), PodClass::kReady);
  for (size_t i = 0; i < pods.size(); ++i) {
    const PodInfo& pod = pods[i];
    PodClass& c = (*out)[i];
    if (pod.deleting || pod.phase == PodPhase::kFailed) {
      c = PodClass::kIgnored;
      continue;
    }
    if (pod.phase == PodPhase::kPending) {
      c = PodClass::kUnready;
      continue;
    }
    const Sample* s = sample(i);
    if (s == nullptr) {
      c = PodClass::kMissing;
      continue;
    }
    if (is_cpu) {
      bool unready;
      if (!pod.ready.has_value() || !pod.start_time.has_value()) {
        unready = true;
      } else if (*pod.start_time + cpu_init > now) {
        // Within the initialization period: unready, or no full window since
        // the last readiness change.
        unready = !*pod.ready || s->timestamp < pod.ready_transition_time + s->window;
      } else {
        // After it: unready and (probably) never ready.
        unready = !*pod.ready && *pod.start_time + readiness_delay > pod.ready_transition_time;
      }
      if (unready) {
        c = PodClass::kUnready;
        continue;
      }
    }
    ++ready;
  }
  return ready;
}

struct Grouped {
  int ready_count = 0;
  bool any_unready = false;
  bool any_missing = false;
  std::vector<PodClass> classes;
};

// groupPods, then removeMetricsForPods(ignored) and (unready).
Grouped GroupAndRemove(const CalculatorParams& p, bool is_cpu, const std::vector<PodInfo>& pods,
                       PodSampleSet* samples) {
  Grouped g;
  g.ready_count = ClassifyPods(
      pods,
      [&](size_t i) { return samples->by_pod[i].has_value() ? &*samples->by_pod[i] : nullptr; },
      is_cpu, p.cpu_initialization_period, p.delay_of_initial_readiness_status, p.now, &g.classes);
  for (size_t i = 0; i < pods.size(); ++i) {
    switch (g.classes[i]) {
      case PodClass::kIgnored:
        samples->by_pod[i].reset();
        break;
      case PodClass::kUnready:
        samples->by_pod[i].reset();
        g.any_unready = true;
        break;
      case PodClass::kMissing:
        g.any_missing = true;
        break;
      case PodClass::kReady:
        break;
    }
  }
  return g;
}

void Fill(const Grouped& g, PodClass which, const std::function<int64_t(size_t)>& value,
          PodSampleSet* samples) {
  for (size_t i = 0; i < g.classes.size(); ++i) {
    if (g.classes[i] == which) samples->by_pod[i] = Sample{value(i)};
  }
}

absl::Status NoPods() {
  return absl::InvalidArgumentError("no pods returned by selector while calculating replica count");
}

absl::Status NoReadyMetrics() {
  return absl::InvalidArgumentError(
      "did not receive metrics for targeted pods (pods might be unready)");
}

// calcPlainMetricReplicas: Pods metrics and Resource averageValue targets.
absl::StatusOr<MetricProposal> PlainMetricReplicas(const CalculatorParams& p, PodSampleSet samples,
                                                   int32_t current, int64_t target,
                                                   std::string_view resource,
                                                   const Snapshot& snapshot) {
  if (snapshot.pods.empty()) return NoPods();
  Grouped g = GroupAndRemove(p, resource == "cpu", snapshot.pods, &samples);
  if (samples.Size() == 0) return NoReadyMetrics();

  auto [ratio, usage] = MetricUsageRatio(samples, target);
  MetricProposal out;
  out.usage = usage;
  const bool scale_up_with_unready = g.any_unready && ratio > 1.0;
  if (!scale_up_with_unready && !g.any_missing) {
    out.replicas = p.tolerances.IsWithin(ratio)
                       ? current
                       : CeilToInt32(ratio * static_cast<double>(g.ready_count));
    return out;
  }
  if (g.any_missing) {
    if (ratio < 1.0) {
      Fill(
          g, PodClass::kMissing, [&](size_t) { return target; }, &samples);
    } else if (ratio > 1.0) {
      Fill(
          g, PodClass::kMissing, [](size_t) { return int64_t{0}; }, &samples);
    }
  }
  if (scale_up_with_unready)
    Fill(
        g, PodClass::kUnready, [](size_t) { return int64_t{0}; }, &samples);
  double new_ratio = MetricUsageRatio(samples, target).first;
  if (p.tolerances.IsWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    out.replicas = current;
    return out;
  }
  int32_t replicas = CeilToInt32(new_ratio * static_cast<double>(samples.Size()));
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
    return absl::InvalidArgumentError(
        absl::StrCat("unable to get external metric ", AV(name),
                     ": no metrics returned from external metrics API"));
  }
  int64_t total = 0;
  for (int64_t v : it->second) total = SaturatingAdd(total, v);
  return total;
}

absl::StatusOr<int64_t> ObjectValue(std::string_view name, const Snapshot& snapshot) {
  auto it = snapshot.metrics.object_metrics.find(AV(name));
  if (it == snapshot.metrics.object_metrics.end()) {
    return absl::InvalidArgumentError(absl::StrCat("unable to get metric ", AV(name),
                                                   ": no metric returned from custom metrics API"));
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
  std::vector<PodClass> classes;
  PodGroups g;
  g.ready_count = ClassifyPods(
      pods,
      [&](size_t i) -> const Sample* {
        auto it = samples.find(pods[i].name);
        return it == samples.end() ? nullptr : &it->second;
      },
      is_cpu, cpu_init, readiness_delay, now, &classes);
  for (size_t i = 0; i < pods.size(); ++i) {
    switch (classes[i]) {
      case PodClass::kIgnored:
        g.ignored.push_back(pods[i].name);
        break;
      case PodClass::kUnready:
        g.unready.push_back(pods[i].name);
        break;
      case PodClass::kMissing:
        g.missing.push_back(pods[i].name);
        break;
      case PodClass::kReady:
        break;
    }
  }
  return g;
}

absl::StatusOr<MetricProposal> ResourceUtilizationReplicas(const CalculatorParams& p,
                                                           int32_t current, int32_t target,
                                                           std::string_view resource,
                                                           std::string_view container,
                                                           const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(PodSampleSet samples, ResourceSamples(resource, container, snapshot));
  if (snapshot.pods.empty()) return NoPods();
  Grouped g = GroupAndRemove(p, resource == "cpu", snapshot.pods, &samples);
  ASSIGN_OR_RETURN(std::vector<int64_t> requests,
                   CalculateRequests(snapshot.pods, container, resource, p.pod_level_resources));
  if (samples.Size() == 0) return NoReadyMetrics();

  ASSIGN_OR_RETURN(UtilizationRatio r, ResourceUtilizationRatio(samples, requests, target));
  MetricProposal out;
  out.utilization = r.utilization;
  out.raw_utilization = r.raw;
  const double ratio = r.ratio;
  const bool scale_up_with_unready = g.any_unready && ratio > 1.0;
  if (!scale_up_with_unready && !g.any_missing) {
    out.replicas = p.tolerances.IsWithin(ratio)
                       ? current
                       : CeilToInt32(ratio * static_cast<double>(g.ready_count));
    return out;
  }
  if (g.any_missing) {
    if (ratio < 1.0) {
      // A missing pod is assumed to use max(100, target)% of its request
      // (older releases: exactly its request).
      int64_t fallback = p.missing_pods_use_target_above_100 ? std::max<int64_t>(100, target) : 100;
      Fill(
          g, PodClass::kMissing,
          [&](size_t i) {
            return ClampToInt64(static_cast<__int128>(requests[i]) * fallback / 100);
          },
          &samples);
    } else if (ratio > 1.0) {
      Fill(
          g, PodClass::kMissing, [](size_t) { return int64_t{0}; }, &samples);
    }
  }
  if (scale_up_with_unready)
    Fill(
        g, PodClass::kUnready, [](size_t) { return int64_t{0}; }, &samples);
  ASSIGN_OR_RETURN(UtilizationRatio nr, ResourceUtilizationRatio(samples, requests, target));
  const double new_ratio = nr.ratio;
  if (p.tolerances.IsWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    out.replicas = current;
    return out;
  }
  int32_t replicas = CeilToInt32(new_ratio * static_cast<double>(samples.Size()));
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
  ASSIGN_OR_RETURN(PodSampleSet samples, ResourceSamples(resource, container, snapshot));
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
  // Pods metrics never apply the CPU readiness rules (resource name "").
  return PlainMetricReplicas(p, FromPodSamples(it->second, snapshot.pods), current, target_milli,
                             "", snapshot);
}

namespace {

// 7.3: a `value` target over a single usage figure (the Object's sample or
// the External total).
absl::StatusOr<MetricProposal> ValueTargetReplicas(const CalculatorParams& p, int32_t current,
                                                   int64_t target_milli, int64_t usage,
                                                   const Snapshot& snapshot) {
  double ratio = static_cast<double>(usage) / static_cast<double>(target_milli);
  MetricProposal out;
  ASSIGN_OR_RETURN(out.replicas, UsageRatioReplicaCount(p, current, ratio, snapshot));
  out.usage = usage;
  return out;
}

// 7.4: an `averageValue` target over a usage total, against statusReplicas.
MetricProposal AverageValueTargetReplicas(const CalculatorParams& p, int32_t status_replicas,
                                          int64_t target_milli, int64_t usage) {
  MetricProposal out;
  out.replicas = status_replicas;
  double ratio = static_cast<double>(usage) /
                 (static_cast<double>(target_milli) * static_cast<double>(status_replicas));
  if (!p.tolerances.IsWithin(ratio)) {
    out.replicas =
        CeilToInt32Saturating(static_cast<double>(usage) / static_cast<double>(target_milli));
  }
  out.usage =
      CeilToInt64Saturating(static_cast<double>(usage) / static_cast<double>(status_replicas));
  return out;
}

}  // namespace

absl::StatusOr<MetricProposal> ObjectValueReplicas(const CalculatorParams& p, int32_t current,
                                                   int64_t target_milli,
                                                   std::string_view metric_name,
                                                   const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(int64_t usage, ObjectValue(metric_name, snapshot));
  return ValueTargetReplicas(p, current, target_milli, usage, snapshot);
}

absl::StatusOr<MetricProposal> ObjectAverageValueReplicas(const CalculatorParams& p,
                                                          int32_t status_replicas,
                                                          int64_t target_milli,
                                                          std::string_view metric_name,
                                                          const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(int64_t usage, ObjectValue(metric_name, snapshot));
  return AverageValueTargetReplicas(p, status_replicas, target_milli, usage);
}

absl::StatusOr<MetricProposal> ExternalValueReplicas(const CalculatorParams& p, int32_t current,
                                                     int64_t target_milli,
                                                     std::string_view metric_name,
                                                     const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(int64_t usage, ExternalTotal(metric_name, snapshot));
  return ValueTargetReplicas(p, current, target_milli, usage, snapshot);
}

absl::StatusOr<MetricProposal> ExternalAverageValueReplicas(const CalculatorParams& p,
                                                            int32_t status_replicas,
                                                            int64_t target_milli,
                                                            std::string_view metric_name,
                                                            const Snapshot& snapshot) {
  ASSIGN_OR_RETURN(int64_t usage, ExternalTotal(metric_name, snapshot));
  return AverageValueTargetReplicas(p, status_replicas, target_milli, usage);
}

}  // namespace tide::autoscaler
