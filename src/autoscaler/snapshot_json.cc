#include "autoscaler/snapshot_json.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "autoscaler/json_util.h"
#include "common/status_macros.h"

namespace tide::autoscaler {
namespace {

using json_util::Child;
using json_util::Index;
using nlohmann::json;

absl::StatusOr<absl::Duration> ToDuration(const json& v, const std::string& path) {
  if (v.is_number()) return absl::Seconds(v.get<double>());
  if (v.is_string()) {
    absl::Duration d;
    if (absl::ParseDuration(v.get<std::string>(), &d)) return d;
  }
  return json_util::Error(path, "expected seconds (a number) or a duration such as \"2m\"");
}

absl::StatusOr<std::optional<absl::Duration>> OptDuration(const json& obj, std::string_view key,
                                                          const std::string& path) {
  const json* v = json_util::Find(obj, key);
  if (v == nullptr) return std::optional<absl::Duration>();
  ASSIGN_OR_RETURN(absl::Duration d, ToDuration(*v, Child(path, key)));
  return std::optional<absl::Duration>(d);
}

absl::StatusOr<std::optional<absl::Time>> OptTime(const json& obj, std::string_view key,
                                                  const std::string& path) {
  ASSIGN_OR_RETURN(auto s, json_util::OptNumber(obj, key, path));
  if (!s) return std::optional<absl::Time>();
  return std::optional<absl::Time>(TimeFromSeconds(*s));
}

absl::Status ParseConfig(const json& j, const std::string& path, ControllerConfig* c) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  ASSIGN_OR_RETURN(auto tol, json_util::OptNumber(j, "tolerance", path));
  if (tol) c->tolerance = *tol;
  ASSIGN_OR_RETURN(auto cpu, OptDuration(j, "cpuInitializationPeriod", path));
  if (cpu) c->cpu_initialization_period = *cpu;
  ASSIGN_OR_RETURN(auto delay, OptDuration(j, "delayOfInitialReadinessStatus", path));
  if (delay) c->delay_of_initial_readiness_status = *delay;
  ASSIGN_OR_RETURN(auto window, OptDuration(j, "downscaleStabilizationWindow", path));
  if (window) c->downscale_stabilization_window = *window;
  ASSIGN_OR_RETURN(auto factor, json_util::OptNumber(j, "scaleUpLimitFactor", path));
  if (factor) c->scale_up_limit_factor = *factor;
  ASSIGN_OR_RETURN(auto minimum, json_util::OptNumber(j, "scaleUpLimitMinimum", path));
  if (minimum) c->scale_up_limit_minimum = *minimum;
  ASSIGN_OR_RETURN(auto ct, json_util::OptBool(j, "configurableTolerance", path));
  if (ct) c->configurable_tolerance = *ct;
  ASSIGN_OR_RETURN(auto plr, json_util::OptBool(j, "podLevelResources", path));
  if (plr) c->pod_level_resources = *plr;
  ASSIGN_OR_RETURN(auto mp, json_util::OptBool(j, "missingPodsUseTargetAbove100", path));
  if (mp) c->missing_pods_use_target_above_100 = *mp;
  ASSIGN_OR_RETURN(auto stz, json_util::OptBool(j, "hpaScaleToZero", path));
  if (stz) c->hpa_scale_to_zero = *stz;
  ASSIGN_OR_RETURN(auto mode, json_util::OptString(j, "scaleFromZero", path));
  if (mode) {
    if (*mode == "minReplicasZero") {
      c->scale_from_zero = ControllerConfig::ScaleFromZero::kMinReplicasZero;
    } else if (*mode == "scaledToZeroCondition") {
      c->scale_from_zero = ControllerConfig::ScaleFromZero::kScaledToZeroCondition;
    } else {
      return json_util::Error(Child(path, "scaleFromZero"),
                              "expected \"minReplicasZero\" or \"scaledToZeroCondition\"");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, Quantity>>> ParseRequests(
    const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  std::vector<std::pair<std::string, Quantity>> out;
  for (const auto& [name, v] : j.items()) {
    ASSIGN_OR_RETURN(Quantity q, json_util::ToQuantity(v, Child(path, name)));
    out.emplace_back(name, q);
  }
  return out;
}

absl::StatusOr<std::vector<ContainerInfo>> ParseContainers(const json& obj, std::string_view key,
                                                           const std::string& path) {
  std::vector<ContainerInfo> out;
  const json* arr = json_util::Find(obj, key);
  if (arr == nullptr) return out;
  std::string p = Child(path, key);
  RETURN_IF_ERROR(json_util::ExpectArray(*arr, p));
  for (size_t i = 0; i < arr->size(); ++i) {
    const json& c = (*arr)[i];
    std::string cp = Index(p, i);
    RETURN_IF_ERROR(json_util::ExpectObject(c, cp));
    ContainerInfo info;
    ASSIGN_OR_RETURN(auto name, json_util::OptString(c, "name", cp));
    ASSIGN_OR_RETURN(auto rp, json_util::OptString(c, "restartPolicy", cp));
    info.name = name.value_or("");
    info.restart_policy = rp.value_or("");
    if (const json* r = json_util::Find(c, "requests")) {
      ASSIGN_OR_RETURN(info.requests, ParseRequests(*r, Child(cp, "requests")));
    } else if (const json* res = json_util::Find(c, "resources")) {
      if (const json* r = json_util::Find(*res, "requests")) {
        ASSIGN_OR_RETURN(info.requests,
                         ParseRequests(*r, Child(Child(cp, "resources"), "requests")));
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<PodInfo> ParsePod(const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  PodInfo pod;
  ASSIGN_OR_RETURN(auto name, json_util::OptString(j, "name", path));
  if (!name) return json_util::Error(Child(path, "name"), "required");
  pod.name = *name;
  ASSIGN_OR_RETURN(auto phase, json_util::OptString(j, "phase", path));
  if (phase) {
    if (*phase == "Running") {
      pod.phase = PodPhase::kRunning;
    } else if (*phase == "Pending") {
      pod.phase = PodPhase::kPending;
    } else if (*phase == "Succeeded") {
      pod.phase = PodPhase::kSucceeded;
    } else if (*phase == "Failed") {
      pod.phase = PodPhase::kFailed;
    } else if (*phase == "Unknown") {
      pod.phase = PodPhase::kUnknown;
    } else {
      return json_util::Error(Child(path, "phase"),
                              "expected Pending, Running, Succeeded, Failed or Unknown");
    }
  }
  ASSIGN_OR_RETURN(pod.ready, json_util::OptBool(j, "ready", path));
  ASSIGN_OR_RETURN(pod.start_time, OptTime(j, "startTime", path));
  ASSIGN_OR_RETURN(auto transition, OptTime(j, "readyTransitionTime", path));
  if (transition) pod.ready_transition_time = *transition;
  ASSIGN_OR_RETURN(auto deleting, json_util::OptBool(j, "deleting", path));
  pod.deleting = deleting.value_or(false);
  ASSIGN_OR_RETURN(pod.containers, ParseContainers(j, "containers", path));
  ASSIGN_OR_RETURN(pod.init_containers, ParseContainers(j, "initContainers", path));
  if (const json* res = json_util::Find(j, "resources")) {
    if (const json* r = json_util::Find(*res, "requests")) {
      ASSIGN_OR_RETURN(pod.pod_requests,
                       ParseRequests(*r, Child(Child(path, "resources"), "requests")));
    }
  }
  return pod;
}

absl::StatusOr<std::optional<Sample>> ParseSample(const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  const json* v = json_util::Find(j, "value");
  if (v == nullptr) return std::optional<Sample>();
  Sample s;
  ASSIGN_OR_RETURN(Quantity q, json_util::ToQuantity(*v, Child(path, "value")));
  s.milli_value = q.MilliValue();
  ASSIGN_OR_RETURN(auto ts, OptTime(j, "timestamp", path));
  if (ts) s.timestamp = *ts;
  ASSIGN_OR_RETURN(auto window, OptDuration(j, "window", path));
  if (window) s.window = *window;
  return std::optional<Sample>(s);
}

absl::Status ParseMetrics(const json& j, const std::string& path, MetricsData* m) {
  if (const json* pm = json_util::Find(j, "podMetrics")) {
    std::string p = Child(path, "podMetrics");
    RETURN_IF_ERROR(json_util::ExpectObject(*pm, p));
    for (const auto& [metric, pods] : pm->items()) {
      std::string mp = Child(p, metric);
      RETURN_IF_ERROR(json_util::ExpectObject(pods, mp));
      PodSamples& samples = m->pod_metrics[metric];
      for (const auto& [pod, sample] : pods.items()) {
        ASSIGN_OR_RETURN(samples[pod], ParseSample(sample, Child(mp, pod)));
      }
    }
  }
  if (const json* cm = json_util::Find(j, "containerMetrics")) {
    std::string p = Child(path, "containerMetrics");
    RETURN_IF_ERROR(json_util::ExpectObject(*cm, p));
    for (const auto& [resource, pods] : cm->items()) {
      std::string rp = Child(p, resource);
      RETURN_IF_ERROR(json_util::ExpectObject(pods, rp));
      auto& by_pod = m->container_metrics[resource];
      for (const auto& [pod, containers] : pods.items()) {
        std::string pp = Child(rp, pod);
        RETURN_IF_ERROR(json_util::ExpectObject(containers, pp));
        ContainerSamples& cs = by_pod[pod];
        for (const auto& [container, sample] : containers.items()) {
          ASSIGN_OR_RETURN(cs[container], ParseSample(sample, Child(pp, container)));
        }
      }
    }
  }
  if (const json* om = json_util::Find(j, "objectMetrics")) {
    std::string p = Child(path, "objectMetrics");
    RETURN_IF_ERROR(json_util::ExpectObject(*om, p));
    for (const auto& [metric, v] : om->items()) {
      if (v.is_null()) continue;
      ASSIGN_OR_RETURN(Quantity q, json_util::ToQuantity(v, Child(p, metric)));
      m->object_metrics[metric] = q.MilliValue();
    }
  }
  if (const json* em = json_util::Find(j, "externalMetrics")) {
    std::string p = Child(path, "externalMetrics");
    RETURN_IF_ERROR(json_util::ExpectObject(*em, p));
    for (const auto& [metric, values] : em->items()) {
      std::string mp = Child(p, metric);
      RETURN_IF_ERROR(json_util::ExpectArray(values, mp));
      std::vector<int64_t>& out = m->external_metrics[metric];
      for (size_t i = 0; i < values.size(); ++i) {
        ASSIGN_OR_RETURN(Quantity q, json_util::ToQuantity(values[i], Index(mp, i)));
        out.push_back(q.MilliValue());
      }
    }
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status ParseTimedList(const json& arr, const std::string& path, std::vector<T>* out) {
  RETURN_IF_ERROR(json_util::ExpectArray(arr, path));
  for (size_t i = 0; i < arr.size(); ++i) {
    std::string ip = Index(path, i);
    RETURN_IF_ERROR(json_util::ExpectObject(arr[i], ip));
    ASSIGN_OR_RETURN(auto ts, json_util::OptNumber(arr[i], "timestamp", ip));
    ASSIGN_OR_RETURN(auto replicas, json_util::OptInt32(arr[i], "replicas", ip));
    if (!ts) return json_util::Error(Child(ip, "timestamp"), "required");
    if (!replicas) return json_util::Error(Child(ip, "replicas"), "required");
    T item{};
    item.timestamp = TimeFromSeconds(*ts);
    item.replicas = *replicas;
    out->push_back(item);
  }
  return absl::OkStatus();
}

using ojson = nlohmann::ordered_json;

ojson OptionalToJson(const std::optional<int64_t>& v) { return v ? ojson(*v) : ojson(nullptr); }

}  // namespace

absl::Time TimeFromSeconds(double seconds) {
  double whole = std::floor(seconds);
  double frac = seconds - whole;
  return absl::FromUnixSeconds(static_cast<int64_t>(whole)) +
         absl::Nanoseconds(std::llround(frac * 1e9));
}

absl::StatusOr<SnapshotCase> ParseSnapshot(const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  SnapshotCase c;
  ASSIGN_OR_RETURN(auto name, json_util::OptString(j, "name", path));
  c.name = name.value_or("");
  ASSIGN_OR_RETURN(auto source, json_util::OptString(j, "source", path));
  c.source = source.value_or("");
  ASSIGN_OR_RETURN(auto now, json_util::OptNumber(j, "now", path));
  if (!now) return json_util::Error(Child(path, "now"), "required (seconds)");
  c.now = TimeFromSeconds(*now);
  c.config = ControllerConfig();
  if (const json* cfg = json_util::Find(j, "config")) {
    RETURN_IF_ERROR(ParseConfig(*cfg, Child(path, "config"), &c.config));
  }
  const json* hpa = json_util::Find(j, "hpa");
  if (hpa == nullptr) return json_util::Error(Child(path, "hpa"), "required");
  auto spec = HpaSpecFromJson(*hpa);
  if (!spec.ok()) {
    // Re-anchor the spec's own paths ("spec.x") under this snapshot.
    std::string msg(spec.status().message());
    if (msg.rfind("spec", 0) == 0) msg = msg.substr(4);
    return absl::InvalidArgumentError(absl::StrCat(Child(path, "hpa"), msg));
  }
  c.spec = *std::move(spec);
  if (c.spec.max_replicas < 1) {
    return json_util::Error(Child(Child(path, "hpa"), "maxReplicas"), "required, at least 1");
  }
  ApplyDefaults(&c.spec);
  ASSIGN_OR_RETURN(auto current, json_util::OptInt32(j, "currentReplicas", path));
  if (!current) return json_util::Error(Child(path, "currentReplicas"), "required");
  c.snapshot.current_replicas = *current;
  ASSIGN_OR_RETURN(auto status, json_util::OptInt32(j, "statusReplicas", path));
  c.snapshot.status_replicas = status.value_or(*current);
  ASSIGN_OR_RETURN(auto stz, json_util::OptBool(j, "scaledToZeroCondition", path));
  c.snapshot.scaled_to_zero_condition = stz.value_or(false);
  if (const json* pods = json_util::Find(j, "pods")) {
    std::string p = Child(path, "pods");
    RETURN_IF_ERROR(json_util::ExpectArray(*pods, p));
    for (size_t i = 0; i < pods->size(); ++i) {
      ASSIGN_OR_RETURN(PodInfo pod, ParsePod((*pods)[i], Index(p, i)));
      c.snapshot.pods.push_back(std::move(pod));
    }
  }
  RETURN_IF_ERROR(ParseMetrics(j, path, &c.snapshot.metrics));
  if (const json* recs = json_util::Find(j, "recommendations")) {
    RETURN_IF_ERROR(
        ParseTimedList(*recs, Child(path, "recommendations"), &c.history.recommendations));
    c.history.initialized = true;
  }
  if (const json* up = json_util::Find(j, "scaleUpEvents")) {
    RETURN_IF_ERROR(ParseTimedList(*up, Child(path, "scaleUpEvents"), &c.history.scale_up_events));
  }
  if (const json* down = json_util::Find(j, "scaleDownEvents")) {
    RETURN_IF_ERROR(
        ParseTimedList(*down, Child(path, "scaleDownEvents"), &c.history.scale_down_events));
  }
  if (const json* e = json_util::Find(j, "expect")) c.expect = *e;
  return c;
}

absl::StatusOr<std::vector<SnapshotCase>> ParseSnapshots(const json& doc) {
  std::vector<SnapshotCase> out;
  if (doc.is_array()) {
    for (size_t i = 0; i < doc.size(); ++i) {
      ASSIGN_OR_RETURN(SnapshotCase c, ParseSnapshot(doc[i], Index("$", i)));
      out.push_back(std::move(c));
    }
    return out;
  }
  ASSIGN_OR_RETURN(SnapshotCase c, ParseSnapshot(doc, "$"));
  out.push_back(std::move(c));
  return out;
}

ojson DecisionToJson(const std::string& name, const Decision& d) {
  ojson j = ojson::object();
  j["name"] = name;
  j["desiredReplicas"] = d.desired_replicas;
  if (d.metrics_evaluated) {
    ojson arr = ojson::array();
    for (const MetricStatus& m : d.metrics)
      arr.push_back(m.valid ? ojson(m.replicas) : ojson(nullptr));
    j["metricReplicas"] = arr;
  } else {
    j["metricReplicas"] = nullptr;
  }
  j["error"] = d.error;
  j["errorMessage"] = d.error ? ojson(d.error_message) : ojson(nullptr);
  const MetricStatus* first = d.metrics.empty() ? nullptr : &d.metrics.front();
  j["utilization"] = first && first->utilization ? ojson(*first->utilization) : ojson(nullptr);
  j["rawUtilization"] = first ? OptionalToJson(first->raw_utilization) : ojson(nullptr);
  j["usage"] = first ? OptionalToJson(first->usage) : ojson(nullptr);
  j["reason"] = d.reason;
  j["message"] = d.message;
  return j;
}

std::string CompareWithExpectation(const Decision& d, const json& expect) {
  if (!expect.is_object()) return "";
  json got = json::parse(DecisionToJson("", d).dump());
  std::string diffs;
  for (const char* key : {"desiredReplicas", "error", "metricReplicas", "utilization",
                          "rawUtilization", "usage", "reason"}) {
    auto it = expect.find(key);
    if (it == expect.end()) continue;
    if (*it != got[key]) {
      absl::StrAppend(&diffs, key, ": want ", it->dump(), ", got ", got[key].dump(), "; ");
    }
  }
  return diffs;
}

}  // namespace tide::autoscaler
