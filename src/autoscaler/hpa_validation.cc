// Validation of an autoscaling/v2 HPA spec, rule for rule after upstream's
// pkg/apis/autoscaling/validation/validation.go, with the API server's
// message formats (k8s.io/apimachinery/pkg/util/validation/field).

#include <cctype>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "autoscaler/hpa_spec.h"

namespace tide::autoscaler {
namespace {

constexpr int32_t kMaxPeriodSeconds = 1800;
constexpr int32_t kMaxStabilizationWindowSeconds = 3600;

class Errors {
 public:
  void Invalid(const std::string& field, const std::string& value, const std::string& detail) {
    list_.push_back({field, absl::StrCat("Invalid value: ", value, ": ", detail)});
  }
  void Invalid(const std::string& field, int64_t value, const std::string& detail) {
    Invalid(field, std::to_string(value), detail);
  }
  void Required(const std::string& field, const std::string& detail) {
    list_.push_back({field, detail.empty() ? "Required value" : "Required value: " + detail});
  }
  void Forbidden(const std::string& field, const std::string& detail) {
    list_.push_back({field, "Forbidden: " + detail});
  }
  void NotSupported(const std::string& field, const std::string& value,
                    const std::vector<std::string>& supported) {
    std::vector<std::string> quoted;
    for (const auto& s : supported) quoted.push_back(absl::StrCat("\"", s, "\""));
    list_.push_back({field, absl::StrCat("Unsupported value: \"", value,
                                         "\": supported values: ", absl::StrJoin(quoted, ", "))});
  }
  std::vector<FieldError> Take() { return std::move(list_); }

 private:
  std::vector<FieldError> list_;
};

std::string Quote(const std::string& s) { return absl::StrCat("\"", s, "\""); }

// pathvalidation.IsValidPathSegmentName
void ValidatePathSegment(const std::string& field, const std::string& name, Errors* errs) {
  if (name == "." || name == "..") {
    errs->Invalid(field, Quote(name), absl::StrCat("may not be '", name, "'"));
  }
  for (const char* bad : {"/", "%"}) {
    if (name.find(bad) != std::string::npos) {
      errs->Invalid(field, Quote(name), absl::StrCat("may not contain '", bad, "'"));
    }
  }
}

void ValidateRef(const CrossVersionObjectReference& ref, const std::string& path, Errors* errs) {
  if (ref.kind.empty()) {
    errs->Required(path + ".kind", "");
  } else {
    ValidatePathSegment(path + ".kind", ref.kind, errs);
  }
  if (ref.name.empty()) {
    errs->Required(path + ".name", "");
  } else {
    ValidatePathSegment(path + ".name", ref.name, errs);
  }
}

bool IsDns1123Label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && i != 0 && i + 1 != s.size())) return false;
  }
  return true;
}

void ValidateTarget(const MetricTarget& t, const std::string& path, Errors* errs) {
  if (t.type.empty()) errs->Required(path + ".type", "must specify a metric target type");
  if (t.type != "Utilization" && t.type != "Value" && t.type != "AverageValue") {
    errs->Invalid(path + ".type", Quote(t.type),
                  "must be either Utilization, Value, or AverageValue");
  }
  if (t.value && t.value->Sign() != 1) {
    errs->Invalid(path + ".value", t.value->ToString(), "must be positive");
  }
  if (t.average_value && t.average_value->Sign() != 1) {
    errs->Invalid(path + ".averageValue", t.average_value->ToString(), "must be positive");
  }
  if (t.average_utilization && *t.average_utilization < 1) {
    errs->Invalid(path + ".averageUtilization", *t.average_utilization, "must be greater than 0");
  }
}

void ValidateIdentifier(const MetricSpec::MetricIdentifier& id, const std::string& path,
                        Errors* errs) {
  if (id.name.empty()) {
    errs->Required(path + ".name", "must specify a metric name");
  } else {
    ValidatePathSegment(path + ".name", id.name, errs);
  }
}

void ValidateUtilizationOrValue(const MetricTarget& t, const std::string& path, Errors* errs) {
  if (!t.average_utilization && !t.average_value) {
    errs->Required(path + ".target.averageUtilization",
                   "must set either a target raw value or a target utilization");
  }
  if (t.average_utilization && t.average_value) {
    errs->Forbidden(path + ".target.averageValue",
                    "may not set both a target raw value and a target utilization");
  }
}

void ValidateMetric(const MetricSpec& m, const std::string& path, Errors* errs) {
  static const std::vector<std::string> kTypes = {"ContainerResource", "External", "Object", "Pods",
                                                  "Resource"};
  if (m.type.empty()) errs->Required(path + ".type", "must specify a metric source type");
  std::vector<std::string> present;
  if (m.object) {
    present.push_back("object");
    const std::string p = path + ".object";
    ValidateRef(m.object->described_object, p + ".describedObject", errs);
    ValidateIdentifier(m.object->metric, p + ".metric", errs);
    ValidateTarget(m.object->target, p + ".target", errs);
    if (!m.object->target.value && !m.object->target.average_value) {
      errs->Required(p + ".target.averageValue", "must set either a target value or averageValue");
    }
  }
  if (m.external && present.empty()) {
    const std::string p = path + ".external";
    ValidateIdentifier(m.external->metric, p + ".metric", errs);
    ValidateTarget(m.external->target, p + ".target", errs);
    const MetricTarget& t = m.external->target;
    if (!t.value && !t.average_value) {
      errs->Required(p + ".target.averageValue",
                     "must set either a target value for metric or a per-pod target");
    }
    if (t.value && t.average_value) {
      errs->Forbidden(p + ".target.value",
                      "may not set both a target value for metric and a per-pod target");
    }
  }
  if (m.external) present.push_back("external");
  if (m.pods && present.empty()) {
    const std::string p = path + ".pods";
    ValidateIdentifier(m.pods->metric, p + ".metric", errs);
    ValidateTarget(m.pods->target, p + ".target", errs);
    if (!m.pods->target.average_value) {
      errs->Required(p + ".target.averageValue", "must specify a positive target averageValue");
    }
  }
  if (m.pods) present.push_back("pods");
  if (m.resource && present.empty()) {
    const std::string p = path + ".resource";
    if (m.resource->name.empty()) errs->Required(p + ".name", "must specify a resource name");
    ValidateTarget(m.resource->target, p + ".target", errs);
    ValidateUtilizationOrValue(m.resource->target, p, errs);
  }
  if (m.resource) present.push_back("resource");
  if (m.container_resource && present.empty()) {
    const std::string p = path + ".containerResource";
    if (m.container_resource->name.empty()) {
      errs->Required(p + ".name", "must specify a resource name");
    }
    if (m.container_resource->container.empty()) {
      errs->Required(p + ".container", "must specify a container");
    } else if (!IsDns1123Label(m.container_resource->container)) {
      errs->Invalid(p + ".container", Quote(m.container_resource->container),
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character");
    }
    ValidateTarget(m.container_resource->target, p + ".target", errs);
    ValidateUtilizationOrValue(m.container_resource->target, p, errs);
  }
  if (m.container_resource) present.push_back("containerResource");

  std::string expected;
  bool missing = false;
  if (m.type == "Object") {
    expected = "object";
    missing = !m.object;
  } else if (m.type == "Pods") {
    expected = "pods";
    missing = !m.pods;
  } else if (m.type == "Resource") {
    expected = "resource";
    missing = !m.resource;
  } else if (m.type == "External") {
    expected = "external";
    missing = !m.external;
  } else if (m.type == "ContainerResource") {
    expected = "containerResource";
    missing = !m.container_resource;
  } else {
    errs->NotSupported(path + ".type", m.type, kTypes);
  }
  if (missing) {
    errs->Required(path + "." + expected, "must populate information for the given metric source");
  }
  if (present.size() != 1) {
    for (const std::string& typ : present) {
      if (typ != expected) {
        errs->Forbidden(path + "." + typ, "must populate the given metric source only");
      }
    }
  }
}

void ValidateRules(const ScalingRules& r, const std::string& path, Errors* errs) {
  if (r.stabilization_window_seconds) {
    int32_t w = *r.stabilization_window_seconds;
    if (w < 0) {
      errs->Invalid(path + ".stabilizationWindowSeconds", w,
                    "must be greater than or equal to zero");
    }
    if (w > kMaxStabilizationWindowSeconds) {
      errs->Invalid(path + ".stabilizationWindowSeconds", w,
                    absl::StrCat("must be less than or equal to ", kMaxStabilizationWindowSeconds));
    }
  }
  if (r.select_policy && *r.select_policy != "Max" && *r.select_policy != "Min" &&
      *r.select_policy != "Disabled") {
    errs->NotSupported(path + ".selectPolicy", *r.select_policy, {"Disabled", "Max", "Min"});
  }
  if (r.policies) {
    if (r.policies->empty()) errs->Required(path + ".policies", "must specify at least one Policy");
    for (size_t i = 0; i < r.policies->size(); ++i) {
      const ScalingPolicy& p = (*r.policies)[i];
      std::string pp = absl::StrCat(path, ".policies[", i, "]");
      if (p.type != "Pods" && p.type != "Percent") {
        errs->NotSupported(pp + ".type", p.type, {"Percent", "Pods"});
      }
      if (p.value <= 0) errs->Invalid(pp + ".value", p.value, "must be greater than zero");
      if (p.period_seconds <= 0) {
        errs->Invalid(pp + ".periodSeconds", p.period_seconds, "must be greater than zero");
      }
      if (p.period_seconds > kMaxPeriodSeconds) {
        errs->Invalid(pp + ".periodSeconds", p.period_seconds,
                      absl::StrCat("must be less than or equal to ", kMaxPeriodSeconds));
      }
    }
  }
  if (r.tolerance && r.tolerance->Sign() < 0) {
    errs->Invalid(path + ".tolerance", r.tolerance->ToString(),
                  "must be greater than or equal to 0");
  }
}

}  // namespace

std::vector<FieldError> Validate(const HpaSpec& spec, const ValidationOptions& options) {
  Errors errs;
  const int32_t min_bound = options.hpa_scale_to_zero ? 0 : 1;
  if (spec.min_replicas && *spec.min_replicas < min_bound) {
    errs.Invalid("spec.minReplicas", *spec.min_replicas,
                 absl::StrCat("must be greater than or equal to ", min_bound));
  }
  if (spec.max_replicas < 1) {
    errs.Invalid("spec.maxReplicas", spec.max_replicas, "must be greater than or equal to 1");
  }
  if (spec.min_replicas && spec.max_replicas < *spec.min_replicas) {
    errs.Invalid("spec.maxReplicas", spec.max_replicas,
                 "must be greater than or equal to `minReplicas`");
  }
  if (options.require_scale_target_ref) {
    ValidateRef(spec.scale_target_ref.value_or(CrossVersionObjectReference{}),
                "spec.scaleTargetRef", &errs);
  }
  bool has_object_or_external = false;
  for (size_t i = 0; i < spec.metrics.size(); ++i) {
    ValidateMetric(spec.metrics[i], absl::StrCat("spec.metrics[", i, "]"), &errs);
    has_object_or_external |=
        spec.metrics[i].type == "Object" || spec.metrics[i].type == "External";
  }
  if (spec.min_replicas && *spec.min_replicas == 0 && !has_object_or_external) {
    errs.Forbidden("spec.metrics",
                   "must specify at least one Object or External metric to support scaling to "
                   "zero replicas");
  }
  if (spec.behavior) {
    if (spec.behavior->scale_up)
      ValidateRules(*spec.behavior->scale_up, "spec.behavior.scaleUp", &errs);
    if (spec.behavior->scale_down) {
      ValidateRules(*spec.behavior->scale_down, "spec.behavior.scaleDown", &errs);
    }
  }
  // What the parser found against the schema, first: the API server refuses
  // those before it validates values.
  std::vector<FieldError> all = spec.schema_errors;
  for (FieldError& e : errs.Take()) all.push_back(std::move(e));
  return all;
}

}  // namespace tide::autoscaler
