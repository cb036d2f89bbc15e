#pragma once

// The autoscaling/v2 HorizontalPodAutoscaler spec, as the API server stores it
// (staging/src/k8s.io/api/autoscaling/v2/types.go), plus its defaulting
// (pkg/apis/autoscaling/v2/defaults.go) and validation
// (pkg/apis/autoscaling/validation/validation.go).
//
// Parsing keeps what the user wrote (optional fields stay unset, unknown
// enum strings are kept verbatim) so that validation can name them;
// ApplyDefaults() then fills in what the API server would. Plain values.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autoscaler/quantity.h"
#include "nlohmann/json_fwd.hpp"

namespace tide::autoscaler {

struct CrossVersionObjectReference {
  std::string kind;
  std::string name;
  std::string api_version;
};

struct MetricTarget {
  std::string type;  // "Utilization", "Value", "AverageValue" (kept verbatim)
  std::optional<Quantity> value;
  std::optional<Quantity> average_value;
  std::optional<int32_t> average_utilization;
};

// One entry of spec.metrics. Exactly one source member is expected to be
// present (validation checks); `type` says which one the controller reads.
struct MetricSpec {
  std::string type;  // "Resource", "ContainerResource", "Pods", "Object", "External"

  struct ResourceSource {
    std::string name;
    MetricTarget target;
  };
  struct ContainerResourceSource {
    std::string name;
    std::string container;
    MetricTarget target;
  };
  struct MetricIdentifier {
    std::string name;
    std::string selector_json;  // label selector, carried verbatim (not evaluated)
  };
  struct PodsSource {
    MetricIdentifier metric;
    MetricTarget target;
  };
  struct ObjectSource {
    CrossVersionObjectReference described_object;
    MetricIdentifier metric;
    MetricTarget target;
  };
  struct ExternalSource {
    MetricIdentifier metric;
    MetricTarget target;
  };
  std::optional<ResourceSource> resource;
  std::optional<ContainerResourceSource> container_resource;
  std::optional<PodsSource> pods;
  std::optional<ObjectSource> object;
  std::optional<ExternalSource> external;

  // Short description for messages: "cpu resource utilization (percentage of request)".
  std::string Describe() const;
};

struct ScalingPolicy {
  std::string type;  // "Pods" or "Percent"
  int32_t value = 0;
  int32_t period_seconds = 0;
};

struct ScalingRules {
  std::optional<int32_t> stabilization_window_seconds;
  std::optional<std::string> select_policy;  // "Max", "Min", "Disabled"
  std::optional<std::vector<ScalingPolicy>> policies;
  std::optional<Quantity> tolerance;
};

struct Behavior {
  std::optional<ScalingRules> scale_up;
  std::optional<ScalingRules> scale_down;
};

// One field error, formatted as the API server does:
//   spec.maxReplicas: Invalid value: 0: must be greater than or equal to 1
struct FieldError {
  std::string field;
  std::string message;  // "Invalid value: 0: must be ..." / "Required value: ..."
  std::string ToString() const { return field + ": " + message; }
};

struct HpaSpec {
  // Only set when parsed from a whole object.
  std::string name;
  std::string namespace_;
  std::optional<CrossVersionObjectReference> scale_target_ref;
  std::optional<int32_t> min_replicas;
  int32_t max_replicas = 0;
  std::vector<MetricSpec> metrics;
  std::optional<Behavior> behavior;
  // What the parser found against the autoscaling/v2 schema itself: an
  // apiVersion other than autoscaling/v2, fields it does not have (strict
  // field validation, as kubectl apply asks for). Validate reports them.
  std::vector<FieldError> schema_errors;

  int32_t MinReplicasOrDefault() const { return min_replicas.value_or(1); }
};

// What the HPA's API server would fill in: minReplicas 1, a cpu 80% metric
// when there are none, and the behavior rules of 9.1 for every unset field
// when `behavior` is present. The scale-down stabilization window stays unset
// (the controller fills it from its own flag).
void ApplyDefaults(HpaSpec* spec);

// Parses a HorizontalPodAutoscaler (a whole object with `spec`, or just the
// spec) from JSON. InvalidArgument names the field that has the wrong JSON
// type ("spec.metrics[0].pods.target.averageValue: ...").
absl::StatusOr<HpaSpec> HpaSpecFromJson(const nlohmann::json& j);

// The same from YAML text. A multi-document stream yields every document that
// is a HorizontalPodAutoscaler (kind), or the only document if it has no kind.
absl::StatusOr<std::vector<HpaSpec>> HpaSpecsFromYaml(const std::string& text);

// Converts YAML text to JSON values (one per document).
absl::StatusOr<std::vector<nlohmann::json>> YamlToJson(const std::string& text);

struct ValidationOptions {
  // The HPAScaleToZero feature gate: allows minReplicas: 0.
  bool hpa_scale_to_zero = false;
  // Validate scaleTargetRef (whole objects); snapshots carry no target.
  bool require_scale_target_ref = true;
};

// Validates a spec as parsed (before defaulting), returning every error.
std::vector<FieldError> Validate(const HpaSpec& spec, const ValidationOptions& options);

}  // namespace tide::autoscaler
