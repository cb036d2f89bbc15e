#include "autoscaler/hpa_spec.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tide::autoscaler {
namespace {

using ::testing::ElementsAre;

constexpr char kFullHpa[] = R"(
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: simulated
  namespace: default
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: tide
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 60
  - type: Pods
    pods:
      metric:
        name: tide_inference_queue_depth
      target:
        type: AverageValue
        averageValue: 500m
  - type: External
    external:
      metric:
        name: queue
        selector:
          matchLabels: {app: tide}
      target:
        type: Value
        value: 30
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 30
      tolerance: 0.05
    scaleDown:
      selectPolicy: Min
      policies:
      - type: Pods
        value: 1
        periodSeconds: 60
)";

TEST(HpaSpecTest, ParsesWholeObjectFromYaml) {
  auto specs = HpaSpecsFromYaml(kFullHpa);
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 1u);
  const HpaSpec& s = (*specs)[0];
  EXPECT_EQ(s.name, "simulated");
  EXPECT_EQ(s.namespace_, "default");
  ASSERT_TRUE(s.scale_target_ref.has_value());
  EXPECT_EQ(s.scale_target_ref->kind, "Deployment");
  EXPECT_EQ(s.min_replicas, 2);
  EXPECT_EQ(s.max_replicas, 10);
  ASSERT_EQ(s.metrics.size(), 3u);
  EXPECT_EQ(s.metrics[0].resource->name, "cpu");
  EXPECT_EQ(s.metrics[0].resource->target.average_utilization, 60);
  EXPECT_EQ(s.metrics[1].pods->metric.name, "tide_inference_queue_depth");
  EXPECT_EQ(s.metrics[1].pods->target.average_value->MilliValue(), 500);
  EXPECT_EQ(s.metrics[2].external->target.value->MilliValue(), 30000);
  EXPECT_EQ(s.metrics[2].external->metric.selector_json, R"({"matchLabels":{"app":"tide"}})");
  ASSERT_TRUE(s.behavior.has_value());
  EXPECT_EQ(s.behavior->scale_up->stabilization_window_seconds, 30);
  EXPECT_EQ(s.behavior->scale_up->tolerance->AsApproximateFloat64(), 5.0 * (1.0 / 100.0));
  EXPECT_FALSE(s.behavior->scale_up->policies.has_value());
  EXPECT_EQ(s.behavior->scale_down->select_policy, "Min");
  EXPECT_TRUE(Validate(s, {}).empty());
}

// Strict field validation, as kubectl apply asks for: a misspelt field is an
// error naming its path, not dropped and defaulted; an apiVersion other than
// autoscaling/v2 is refused. The user's own maps (labels, annotations,
// matchLabels) and status are not checked. Found by an outside-in probe.
TEST(HpaSpecTest, FieldsOutsideTheV2SchemaAndOtherApiVersionsAreErrors) {
  auto errors = [](const std::string& yaml) {
    auto specs = HpaSpecsFromYaml(yaml);
    EXPECT_TRUE(specs.ok()) << specs.status();
    std::vector<std::string> out;
    if (specs.ok() && !specs->empty()) {
      for (const FieldError& e : Validate(specs->front(), {})) out.push_back(e.ToString());
    }
    return out;
  };
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  const std::string full = kFullHpa;
  EXPECT_THAT(errors(full), ElementsAre());
  EXPECT_THAT(errors(replace(full, "minReplicas: 2", "minReplica: 2")),
              ElementsAre("spec.minReplica: unknown field (not in the autoscaling/v2 schema)"));
  EXPECT_THAT(
      errors(replace(full, "stabilizationWindowSeconds", "stabilisationWindowSeconds")),
      ElementsAre("spec.behavior.scaleUp.stabilisationWindowSeconds: unknown field (not in the "
                  "autoscaling/v2 schema)"));
  EXPECT_THAT(errors(replace(full, "averageValue: 500m", "averageValue: 500m\n        avg: 1")),
              ElementsAre("spec.metrics[1].pods.target.avg: unknown field (not in the "
                          "autoscaling/v2 schema)"));
  EXPECT_THAT(errors(replace(full, "periodSeconds: 60", "periodSeconds: 60\n        period: 1")),
              ElementsAre("spec.behavior.scaleDown.policies[0].period: unknown field (not in the "
                          "autoscaling/v2 schema)"));
  EXPECT_THAT(errors(replace(full, "autoscaling/v2", "autoscaling/v1")),
              ElementsAre("apiVersion: Unsupported value: \"autoscaling/v1\": supported values: "
                          "\"autoscaling/v2\""));
  EXPECT_THAT(errors(replace(full, "kind: HorizontalPodAutoscaler",
                             "kind: HorizontalPodAutoscaler\nstatus: {currentReplicas: 3}")),
              ElementsAre());
  EXPECT_THAT(errors(replace(full, "namespace: default",
                             "namespace: default\n  labels: {any: thing}\n  annotations: {a: b}")),
              ElementsAre());
  // A bare spec (no apiVersion, no spec key) is checked as a spec.
  EXPECT_THAT(errors("maxReplicas: 3\nmaxReplica: 4\n"),
              ElementsAre("spec.maxReplica: unknown field (not in the autoscaling/v2 schema)",
                          "spec.scaleTargetRef.kind: Required value",
                          "spec.scaleTargetRef.name: Required value"));
}

// A plain scalar beyond a double stays its text: JSON has no infinity, and
// it used to become null (an error message then showed "null").
TEST(HpaSpecTest, ANumberBeyondADoubleKeepsItsText) {
  auto docs = YamlToJson("a: 1e400\nb: 1.5e3\nc: 1e-400\n");
  ASSERT_TRUE(docs.ok()) << docs.status();
  EXPECT_EQ((*docs)[0]["a"], "1e400");
  EXPECT_EQ((*docs)[0]["b"], 1500.0);
  EXPECT_EQ((*docs)[0]["c"], 0.0);
}

TEST(HpaSpecTest, DefaultsFillBehaviorAndMetrics) {
  auto spec = HpaSpecFromJson(nlohmann::json::parse(
      R"({"maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}})"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  ApplyDefaults(&*spec);
  EXPECT_EQ(spec->min_replicas, 1);
  ASSERT_EQ(spec->metrics.size(), 1u);
  EXPECT_EQ(spec->metrics[0].type, "Resource");
  EXPECT_EQ(spec->metrics[0].resource->name, "cpu");
  EXPECT_EQ(spec->metrics[0].resource->target.average_utilization, 80);
  const ScalingRules& up = *spec->behavior->scale_up;
  EXPECT_EQ(up.stabilization_window_seconds, 0);
  EXPECT_EQ(up.select_policy, "Max");
  ASSERT_EQ(up.policies->size(), 2u);
  EXPECT_EQ((*up.policies)[0].type, "Pods");
  EXPECT_EQ((*up.policies)[0].value, 4);
  EXPECT_EQ((*up.policies)[0].period_seconds, 15);
  EXPECT_EQ((*up.policies)[1].type, "Percent");
  EXPECT_EQ((*up.policies)[1].value, 100);
  const ScalingRules& down = *spec->behavior->scale_down;
  EXPECT_EQ(down.stabilization_window_seconds, 60);
  EXPECT_EQ(down.select_policy, "Max");
  ASSERT_EQ(down.policies->size(), 1u);
  EXPECT_EQ((*down.policies)[0].type, "Percent");
}

TEST(HpaSpecTest, NoBehaviorStaysLegacy) {
  auto spec = HpaSpecFromJson(nlohmann::json::parse(R"({"maxReplicas": 5})"));
  ASSERT_TRUE(spec.ok());
  ApplyDefaults(&*spec);
  EXPECT_FALSE(spec->behavior.has_value());
}

TEST(HpaSpecTest, MultiDocumentYamlKeepsOnlyHpas) {
  std::string text = std::string(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: tide}
---
)") + kFullHpa + "---\n" +
                     R"(
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: second}
spec: {maxReplicas: 0, scaleTargetRef: {kind: Deployment, name: x}}
)";
  auto specs = HpaSpecsFromYaml(text);
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[1].name, "second");
}

// Found with fuzz/hpa_yaml_fuzz.cc: YAML aliases ("billion laughs") expanded
// without a bound: 467 bytes of nested aliases became 10^8 JSON nodes, and
// `tide hpa` ran out of time and memory. The limit counts nodes after
// expansion.
TEST(HpaSpecTest, PlainScalarsAreTypedByTheYamlCoreSchema) {
  // Each plain scalar as the value of "v", and the JSON it must become.
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"0", 0},           {"42", 42},        {"+7", 7},
      {"-12", -12},       {"007", 7},        {"1.5", 1.5},
      {"-2.", -2.0},      {".25", 0.25},     {"+.5e1", 5.0},
      {"1e3", 1000.0},    {"2.5E-2", 0.025}, {"6e+1", 60.0},
      {"true", true},     {"False", false},  {"~", nullptr},
      {"null", nullptr},  {"", nullptr},     {"99999999999999999999", "99999999999999999999"},
      {".", "."},         {"+", "+"},        {"-.", "-."},
      {"1e", "1e"},       {"e3", "e3"},      {"1.2.3", "1.2.3"},
      {"1_000", "1_000"}, {"0x1F", "0x1F"},  {"1e3x", "1e3x"},
      {"--1", "--1"},     {"50%", "50%"},    {"500m", "500m"},
  };
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    auto docs = YamlToJson("v: " + text + "\n");
    ASSERT_TRUE(docs.ok()) << docs.status();
    ASSERT_EQ(docs->size(), 1u);
    EXPECT_EQ((*docs)[0].at("v"), want);
    EXPECT_EQ((*docs)[0].at("v").type(), want.type());
  }
  // Quoted, the same text stays a string.
  auto quoted = YamlToJson("v: \"42\"\n");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ((*quoted)[0].at("v"), "42");
}

TEST(HpaSpecTest, AliasExpansionIsBounded) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 5; ++i) {  // 10^6 nodes once expanded
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  text += "maxReplicas: 3\n";
  auto specs = HpaSpecsFromYaml(text);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(specs.status().message(),
            "invalid YAML: more than " + std::to_string(text.size() + 10000) +
                " nodes once aliases are expanded (the file's size in bytes plus 10000)");
  // Two levels less (~1,200 nodes) is within the bound.
  std::string within = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 2; ++i) {
    within += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) within += (k ? ", *a" : "*a") + std::to_string(i - 1);
    within += "]\n";
  }
  within += "maxReplicas: 3\n";
  EXPECT_TRUE(HpaSpecsFromYaml(within).ok());
  // The same aliases a few times over are fine.
  auto small = HpaSpecsFromYaml("a: &a {x: 1}\nb: [*a, *a, *a]\nmaxReplicas: 3\n");
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_EQ(small->size(), 1u);
  EXPECT_EQ((*small)[0].max_replicas, 3);
}

// The bound is on what aliases add: a file without aliases is read whatever
// its node count (here 40,000 list items, four times the alias allowance).
TEST(HpaSpecTest, LargeFilesWithoutAliasesAreRead) {
  std::string text = "maxReplicas: 3\nitems: [";
  for (int i = 0; i < 40000; ++i) text += i ? ",1" : "1";
  text += "]\n";
  auto docs = YamlToJson(text);
  ASSERT_TRUE(docs.ok()) << docs.status();
  EXPECT_EQ((*docs)[0].at("items").size(), 40000u);
  std::string block = "items:\n";
  for (int i = 0; i < 40000; ++i) block += "- 1\n";
  auto lines = YamlToJson(block);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ((*lines)[0].at("items").size(), 40000u);
}

// Found by CI's short fuzz pass (fuzz/hpa_yaml_fuzz.cc): an alias inside its
// own anchor (`a: &x [*x]`, 11 bytes) makes yaml-cpp build a node that
// contains itself, and the conversion to JSON recursed until the stack
// overflowed: `tide hpa validate` (and every command that reads an HPA file)
// died with SIGSEGV. Nesting is now bounded, recursive aliases included.
TEST(HpaSpecTest, AliasInsideItsOwnAnchorIsAnErrorNotACrash) {
  const std::string too_deep =
      "invalid YAML: nested more than 64 levels deep (or an alias inside its own anchor)";
  for (const std::string text : {"a: &x [*x]\n", "m: &m {k: *m}\nmaxReplicas: 3\n",
                                 "metadata: &m {name: x, labels: {l: [*m]}}\n"}) {
    SCOPED_TRACE(text);
    auto docs = YamlToJson(text);
    ASSERT_FALSE(docs.ok());
    EXPECT_EQ(docs.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(docs.status().message(), too_deep);
  }
  // Plain nesting, counting every node from the document's map down to the
  // scalar: 64 levels are read, 65 are refused with the same error.
  auto nested = [](int levels) {
    return "a: " + std::string(levels - 2, '[') + "1" + std::string(levels - 2, ']') + "\n";
  };
  auto ok = YamlToJson(nested(64));
  ASSERT_TRUE(ok.ok()) << ok.status();
  const nlohmann::json* leaf = &(*ok)[0]["a"];
  int depth = 2;  // the map, then the value of "a"
  while (leaf->is_array()) leaf = &(*leaf)[0], ++depth;
  EXPECT_EQ(depth, 64);
  EXPECT_EQ(*leaf, 1);
  auto deep = YamlToJson(nested(65));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().message(), too_deep);
}

// Found with fuzz/hpa_yaml_fuzz.cc: Debian's yaml-cpp 0.7 never returns from
// YAML::LoadAll on a stray flow indicator at the top level (a file that is
// just ","): each call yields another empty document without consuming the
// token, so `tide hpa validate` spun, growing memory, on a one-byte typo.
TEST(HpaSpecTest, StrayFlowIndicatorIsAnErrorNotAHang) {
  for (const char* text : {",", "maxReplicas: 3\n,\n", "]", "}"}) {
    auto specs = HpaSpecsFromYaml(text);
    ASSERT_FALSE(specs.ok()) << text;
    EXPECT_EQ(specs.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_TRUE(absl::StartsWith(specs.status().message(), "invalid YAML: ")) << specs.status();
  }
  // Several real documents are still read.
  auto two = HpaSpecsFromYaml(
      "kind: HorizontalPodAutoscaler\nspec: {maxReplicas: 3}\n---\n"
      "kind: HorizontalPodAutoscaler\nspec: {maxReplicas: 4}\n");
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].max_replicas, 4);
}

// Found by CI's short fuzz pass (fuzz/hpa_yaml_fuzz.cc): a selector value
// that is not UTF-8 reached nlohmann::json::dump(), which throws, and `tide hpa
// validate` ended in std::terminate. YAML text must be Unicode: the file is
// refused, naming why.
TEST(HpaSpecTest, TextThatIsNotUtf8IsAnErrorNotACrash) {
  const std::string text =
      "kind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 3\n  metrics:\n  - type: Pods\n"
      "    pods:\n      metric: {name: q, selector: {matchLabels: {app: \"\xff\xfe\"}}}\n"
      "      target: {type: AverageValue, averageValue: \"4\"}\n";
  auto specs = HpaSpecsFromYaml(text);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(specs.status().message(), "invalid YAML: a string is not valid UTF-8");
}

TEST(HpaSpecTest, WrongJsonTypeNamesTheField) {
  auto spec = HpaSpecFromJson(nlohmann::json::parse(R"({"maxReplicas": "ten"})"));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(), "spec.maxReplicas: expected an integer");
  auto bad_q = HpaSpecFromJson(nlohmann::json::parse(
      R"({"maxReplicas": 3, "metrics": [{"type": "Pods", "pods": {"metric": {"name": "q"},
          "target": {"type": "AverageValue", "averageValue": "1x"}}}]})"));
  ASSERT_FALSE(bad_q.ok());
  EXPECT_THAT(
      std::string(bad_q.status().message()),
      ::testing::StartsWith("spec.metrics[0].pods.target.averageValue: Invalid value: \"1x\""));
}

std::vector<std::string> ErrorsFor(const std::string& spec_json, bool scale_to_zero = false) {
  auto spec = HpaSpecFromJson(nlohmann::json::parse(spec_json));
  EXPECT_TRUE(spec.ok()) << spec.status();
  ValidationOptions o;
  o.hpa_scale_to_zero = scale_to_zero;
  std::vector<std::string> out;
  for (const FieldError& e : Validate(*spec, o)) out.push_back(e.ToString());
  return out;
}

constexpr char kRef[] = R"("scaleTargetRef": {"kind": "Deployment", "name": "tide"})";

std::string Spec(const std::string& body) { return std::string("{") + kRef + ", " + body + "}"; }

TEST(HpaValidationTest, ReplicaBounds) {
  EXPECT_THAT(
      ErrorsFor(Spec(R"("maxReplicas": 0)")),
      ElementsAre("spec.maxReplicas: Invalid value: 0: must be greater than or equal to 1"));
  EXPECT_THAT(ErrorsFor(Spec(R"("minReplicas": 0, "maxReplicas": 3)")),
              ElementsAre("spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
                          "spec.metrics: Forbidden: must specify at least one Object or External "
                          "metric to support scaling to zero replicas"));
  EXPECT_THAT(ErrorsFor(Spec(R"("minReplicas": 5, "maxReplicas": 3)")),
              ElementsAre("spec.maxReplicas: Invalid value: 3: must be greater than or equal to "
                          "`minReplicas`"));
  // minReplicas: 0 is allowed with the HPAScaleToZero gate and an External metric.
  EXPECT_THAT(ErrorsFor(Spec(R"("minReplicas": 0, "maxReplicas": 3, "metrics": [{"type": "External",
      "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "1"}}}])"),
                        true),
              ElementsAre());
  EXPECT_THAT(ErrorsFor(R"({"maxReplicas": 3})"),
              ElementsAre("spec.scaleTargetRef.kind: Required value",
                          "spec.scaleTargetRef.name: Required value"));
}

TEST(HpaValidationTest, MetricTable) {
  struct Case {
    const char* metric;
    std::vector<std::string> errors;
  };
  const Case cases[] = {
      {R"({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}})",
       {"spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater "
        "than 0"}},
      {R"({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}})",
       {"spec.metrics[0].resource.target.averageUtilization: Required value: must set either a "
        "target raw value or a target utilization"}},
      {R"({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50, "averageValue": "1"}}})",
       {"spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw "
        "value and a target utilization"}},
      {R"({"type": "Resource", "resource": {"name": "", "target": {"type": "Percent", "averageUtilization": 50}}})",
       {"spec.metrics[0].resource.name: Required value: must specify a resource name",
        "spec.metrics[0].resource.target.type: Invalid value: \"Percent\": must be either "
        "Utilization, Value, or AverageValue"}},
      {R"({"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "-1"}}})",
       {"spec.metrics[0].pods.target.averageValue: Invalid value: -1: must be positive"}},
      {R"({"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "Value", "value": "1"}}})",
       {"spec.metrics[0].pods.target.averageValue: Required value: must specify a positive target "
        "averageValue"}},
      {R"({"type": "Object", "object": {"metric": {"name": "qps"}, "describedObject": {"kind": "Service"}, "target": {"type": "Value"}}})",
       {"spec.metrics[0].object.describedObject.name: Required value",
        "spec.metrics[0].object.target.averageValue: Required value: must set either a target "
        "value or averageValue"}},
      {R"({"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "1", "averageValue": "1"}}})",
       {"spec.metrics[0].external.target.value: Forbidden: may not set both a target value for "
        "metric and a per-pod target"}},
      {R"({"type": "ContainerResource", "containerResource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}})",
       {"spec.metrics[0].containerResource.container: Required value: must specify a container"}},
      {R"({"type": "Foo"})",
       {"spec.metrics[0].type: Unsupported value: \"Foo\": supported values: "
        "\"ContainerResource\", "
        "\"External\", \"Object\", \"Pods\", \"Resource\""}},
      {R"({"type": "Pods", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}})",
       {"spec.metrics[0].pods: Required value: must populate information for the given metric "
        "source"}},
      {R"({"resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}})",
       {"spec.metrics[0].type: Required value: must specify a metric source type",
        "spec.metrics[0].type: Unsupported value: \"\": supported values: \"ContainerResource\", "
        "\"External\", \"Object\", \"Pods\", \"Resource\""}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.metric);
    EXPECT_EQ(ErrorsFor(Spec(std::string(R"("maxReplicas": 3, "metrics": [)") + c.metric + "]")),
              c.errors);
  }
}

TEST(HpaValidationTest, BehaviorTable) {
  struct Case {
    const char* behavior;
    std::vector<std::string> errors;
  };
  const Case cases[] = {
      {R"({"scaleUp": {"stabilizationWindowSeconds": -1}})",
       {"spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: -1: must be greater than "
        "or equal to zero"}},
      {R"({"scaleDown": {"stabilizationWindowSeconds": 3601}})",
       {"spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601: must be less "
        "than or equal to 3600"}},
      {R"({"scaleDown": {"stabilizationWindowSeconds": 3600, "selectPolicy": "Disabled"}})", {}},
      {R"({"scaleUp": {"selectPolicy": "Average"}})",
       {"spec.behavior.scaleUp.selectPolicy: Unsupported value: \"Average\": supported values: "
        "\"Disabled\", \"Max\", \"Min\""}},
      {R"({"scaleUp": {"policies": []}})",
       {"spec.behavior.scaleUp.policies: Required value: must specify at least one Policy"}},
      {R"({"scaleUp": {"policies": [{"type": "Replicas", "value": 0, "periodSeconds": 1801}]}})",
       {"spec.behavior.scaleUp.policies[0].type: Unsupported value: \"Replicas\": supported "
        "values: \"Percent\", \"Pods\"",
        "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
        "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than "
        "or equal to 1800"}},
      {R"({"scaleDown": {"policies": [{"type": "Percent", "value": 10, "periodSeconds": 0}]}})",
       {"spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 0: must be greater "
        "than zero"}},
      {R"({"scaleDown": {"tolerance": "-0.1"}})",
       {"spec.behavior.scaleDown.tolerance: Invalid value: -100m: must be greater than or equal "
        "to 0"}},
      {R"({"scaleUp": {"tolerance": 0}})", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.behavior);
    EXPECT_EQ(ErrorsFor(Spec(std::string(R"("maxReplicas": 3, "behavior": )") + c.behavior)),
              c.errors);
  }
}

}  // namespace
}  // namespace tide::autoscaler
