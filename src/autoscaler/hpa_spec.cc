#include "autoscaler/hpa_spec.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "autoscaler/json_util.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace tide::autoscaler {
namespace {

using json_util::Child;
using json_util::Index;
using nlohmann::json;

absl::StatusOr<MetricTarget> ParseTarget(const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  MetricTarget t;
  ASSIGN_OR_RETURN(auto type, json_util::OptString(j, "type", path));
  t.type = type.value_or("");
  ASSIGN_OR_RETURN(t.value, json_util::OptQuantity(j, "value", path));
  ASSIGN_OR_RETURN(t.average_value, json_util::OptQuantity(j, "averageValue", path));
  ASSIGN_OR_RETURN(t.average_utilization, json_util::OptInt32(j, "averageUtilization", path));
  return t;
}

absl::StatusOr<MetricTarget> ParseTargetField(const json& j, const std::string& path) {
  const json* t = json_util::Find(j, "target");
  if (t == nullptr) return MetricTarget{};
  return ParseTarget(*t, Child(path, "target"));
}

absl::StatusOr<MetricSpec::MetricIdentifier> ParseIdentifier(const json& j,
                                                             const std::string& path) {
  MetricSpec::MetricIdentifier id;
  const json* m = json_util::Find(j, "metric");
  if (m == nullptr) return id;
  std::string mpath = Child(path, "metric");
  RETURN_IF_ERROR(json_util::ExpectObject(*m, mpath));
  ASSIGN_OR_RETURN(auto name, json_util::OptString(*m, "name", mpath));
  id.name = name.value_or("");
  if (const json* sel = json_util::Find(*m, "selector")) id.selector_json = sel->dump();
  return id;
}

absl::StatusOr<CrossVersionObjectReference> ParseRef(const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  CrossVersionObjectReference r;
  ASSIGN_OR_RETURN(auto kind, json_util::OptString(j, "kind", path));
  ASSIGN_OR_RETURN(auto name, json_util::OptString(j, "name", path));
  ASSIGN_OR_RETURN(auto api, json_util::OptString(j, "apiVersion", path));
  r.kind = kind.value_or("");
  r.name = name.value_or("");
  r.api_version = api.value_or("");
  return r;
}

absl::StatusOr<MetricSpec> ParseMetric(const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  MetricSpec m;
  ASSIGN_OR_RETURN(auto type, json_util::OptString(j, "type", path));
  m.type = type.value_or("");
  if (const json* r = json_util::Find(j, "resource")) {
    std::string p = Child(path, "resource");
    RETURN_IF_ERROR(json_util::ExpectObject(*r, p));
    MetricSpec::ResourceSource src;
    ASSIGN_OR_RETURN(auto name, json_util::OptString(*r, "name", p));
    src.name = name.value_or("");
    ASSIGN_OR_RETURN(src.target, ParseTargetField(*r, p));
    m.resource = std::move(src);
  }
  if (const json* r = json_util::Find(j, "containerResource")) {
    std::string p = Child(path, "containerResource");
    RETURN_IF_ERROR(json_util::ExpectObject(*r, p));
    MetricSpec::ContainerResourceSource src;
    ASSIGN_OR_RETURN(auto name, json_util::OptString(*r, "name", p));
    ASSIGN_OR_RETURN(auto container, json_util::OptString(*r, "container", p));
    src.name = name.value_or("");
    src.container = container.value_or("");
    ASSIGN_OR_RETURN(src.target, ParseTargetField(*r, p));
    m.container_resource = std::move(src);
  }
  if (const json* r = json_util::Find(j, "pods")) {
    std::string p = Child(path, "pods");
    RETURN_IF_ERROR(json_util::ExpectObject(*r, p));
    MetricSpec::PodsSource src;
    ASSIGN_OR_RETURN(src.metric, ParseIdentifier(*r, p));
    ASSIGN_OR_RETURN(src.target, ParseTargetField(*r, p));
    m.pods = std::move(src);
  }
  if (const json* r = json_util::Find(j, "object")) {
    std::string p = Child(path, "object");
    RETURN_IF_ERROR(json_util::ExpectObject(*r, p));
    MetricSpec::ObjectSource src;
    if (const json* d = json_util::Find(*r, "describedObject")) {
      ASSIGN_OR_RETURN(src.described_object, ParseRef(*d, Child(p, "describedObject")));
    }
    ASSIGN_OR_RETURN(src.metric, ParseIdentifier(*r, p));
    ASSIGN_OR_RETURN(src.target, ParseTargetField(*r, p));
    m.object = std::move(src);
  }
  if (const json* r = json_util::Find(j, "external")) {
    std::string p = Child(path, "external");
    RETURN_IF_ERROR(json_util::ExpectObject(*r, p));
    MetricSpec::ExternalSource src;
    ASSIGN_OR_RETURN(src.metric, ParseIdentifier(*r, p));
    ASSIGN_OR_RETURN(src.target, ParseTargetField(*r, p));
    m.external = std::move(src);
  }
  return m;
}

absl::StatusOr<ScalingRules> ParseRules(const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  ScalingRules r;
  ASSIGN_OR_RETURN(r.stabilization_window_seconds,
                   json_util::OptInt32(j, "stabilizationWindowSeconds", path));
  ASSIGN_OR_RETURN(r.select_policy, json_util::OptString(j, "selectPolicy", path));
  ASSIGN_OR_RETURN(r.tolerance, json_util::OptQuantity(j, "tolerance", path));
  if (const json* ps = json_util::Find(j, "policies")) {
    std::string p = Child(path, "policies");
    RETURN_IF_ERROR(json_util::ExpectArray(*ps, p));
    std::vector<ScalingPolicy> policies;
    for (size_t i = 0; i < ps->size(); ++i) {
      const json& pj = (*ps)[i];
      std::string ip = Index(p, i);
      RETURN_IF_ERROR(json_util::ExpectObject(pj, ip));
      ScalingPolicy policy;
      ASSIGN_OR_RETURN(auto type, json_util::OptString(pj, "type", ip));
      ASSIGN_OR_RETURN(auto value, json_util::OptInt32(pj, "value", ip));
      ASSIGN_OR_RETURN(auto period, json_util::OptInt32(pj, "periodSeconds", ip));
      policy.type = type.value_or("");
      policy.value = value.value_or(0);
      policy.period_seconds = period.value_or(0);
      policies.push_back(std::move(policy));
    }
    r.policies = std::move(policies);
  }
  return r;
}

absl::StatusOr<HpaSpec> ParseSpec(const json& j, const std::string& path) {
  RETURN_IF_ERROR(json_util::ExpectObject(j, path));
  HpaSpec spec;
  if (const json* ref = json_util::Find(j, "scaleTargetRef")) {
    ASSIGN_OR_RETURN(spec.scale_target_ref, ParseRef(*ref, Child(path, "scaleTargetRef")));
  }
  ASSIGN_OR_RETURN(spec.min_replicas, json_util::OptInt32(j, "minReplicas", path));
  ASSIGN_OR_RETURN(auto max, json_util::OptInt32(j, "maxReplicas", path));
  spec.max_replicas = max.value_or(0);
  if (const json* ms = json_util::Find(j, "metrics")) {
    std::string p = Child(path, "metrics");
    RETURN_IF_ERROR(json_util::ExpectArray(*ms, p));
    for (size_t i = 0; i < ms->size(); ++i) {
      ASSIGN_OR_RETURN(MetricSpec m, ParseMetric((*ms)[i], Index(p, i)));
      spec.metrics.push_back(std::move(m));
    }
  }
  if (const json* b = json_util::Find(j, "behavior")) {
    std::string p = Child(path, "behavior");
    RETURN_IF_ERROR(json_util::ExpectObject(*b, p));
    Behavior behavior;
    if (const json* up = json_util::Find(*b, "scaleUp")) {
      ASSIGN_OR_RETURN(behavior.scale_up, ParseRules(*up, Child(p, "scaleUp")));
    }
    if (const json* down = json_util::Find(*b, "scaleDown")) {
      ASSIGN_OR_RETURN(behavior.scale_down, ParseRules(*down, Child(p, "scaleDown")));
    }
    spec.behavior = std::move(behavior);
  }
  return spec;
}

// Runs of ASCII digits from *i; returns how many.
size_t SkipDigits(std::string_view s, size_t* i) {
  size_t start = *i;
  while (*i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[*i]))) ++*i;
  return *i - start;
}

void SkipSign(std::string_view s, size_t* i) {
  if (*i < s.size() && (s[*i] == '-' || s[*i] == '+')) ++*i;
}

// [-+]?[0-9]+
bool IsCoreInt(std::string_view s) {
  size_t i = 0;
  SkipSign(s, &i);
  return SkipDigits(s, &i) > 0 && i == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
// Scanned by hand: std::regex allocated its state per match and was most of
// the time it took to read a manifest.
bool IsCoreFloat(std::string_view s) {
  size_t i = 0;
  SkipSign(s, &i);
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (SkipDigits(s, &i) == 0) return false;
  } else {
    if (SkipDigits(s, &i) == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      SkipDigits(s, &i);
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    SkipSign(s, &i);
    if (SkipDigits(s, &i) == 0) return false;
  }
  return i == s.size();
}

// YAML 1.2 core schema for plain scalars.
json ScalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() != "?") return json(s);  // quoted or explicitly tagged: a string
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return json(nullptr);
  if (s == "true" || s == "True" || s == "TRUE") return json(true);
  if (s == "false" || s == "False" || s == "FALSE") return json(false);
  if (IsCoreInt(s)) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0) return json(static_cast<int64_t>(v));
    return json(s);
  }
  if (IsCoreFloat(s)) {
    errno = 0;
    double d = std::strtod(s.c_str(), nullptr);
    // Beyond a double (1e400): kept as its text, which JSON can hold and an
    // error message can show (infinity became JSON null, shown as "null").
    if (errno == ERANGE && std::isinf(d)) return json(s);
    return json(d);
  }
  return json(s);
}

// The most nodes a YAML stream may hold once its aliases are expanded is its
// size in bytes plus this. An alias copies its anchor's whole tree into the
// JSON, so a few hundred bytes of nested aliases would otherwise expand to
// billions of nodes. Every node written out takes at least one byte, so a
// file without aliases always fits; aliases may add this many nodes. An HPA
// holds ~50 nodes and an adapter rule ~15: 10,000 is ample, and it keeps the
// work and memory an expanding file can cost small (it was a flat 100,000,
// which made each such file cost milliseconds).
constexpr size_t kMaxYamlAliasNodes = 10000;

struct TooManyNodes {};

// The deepest nesting read. A manifest nests a dozen levels at most; the
// bound also stops an alias inside its own anchor (`a: &x [*x]`), which
// yaml-cpp reads as a node that contains itself: unbounded, the recursion
// below overflowed the stack.
constexpr int kMaxYamlDepth = 64;

struct TooDeep {};

json NodeToJson(const YAML::Node& node, size_t* budget, int depth = 1) {
  if (*budget == 0) throw TooManyNodes{};
  if (depth > kMaxYamlDepth) throw TooDeep{};
  --*budget;
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& child : node) arr.push_back(NodeToJson(child, budget, depth + 1));
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        obj[kv.first.as<std::string>()] = NodeToJson(kv.second, budget, depth + 1);
      }
      return obj;
    }
  }
  return json(nullptr);
}

ScalingRules DefaultScaleUp() {
  ScalingRules r;
  r.stabilization_window_seconds = 0;
  r.select_policy = "Max";
  r.policies = std::vector<ScalingPolicy>{{"Pods", 4, 15}, {"Percent", 100, 15}};
  return r;
}

ScalingRules DefaultScaleDown() {
  ScalingRules r;
  r.select_policy = "Max";
  r.policies = std::vector<ScalingPolicy>{{"Percent", 100, 15}};
  return r;
}

void MergeRules(const std::optional<ScalingRules>& user, ScalingRules defaults,
                std::optional<ScalingRules>* out) {
  if (user.has_value()) {
    if (user->stabilization_window_seconds) {
      defaults.stabilization_window_seconds = user->stabilization_window_seconds;
    }
    if (user->select_policy) defaults.select_policy = user->select_policy;
    if (user->policies) defaults.policies = user->policies;
    if (user->tolerance) defaults.tolerance = user->tolerance;
  }
  *out = std::move(defaults);
}

}  // namespace

std::string MetricSpec::Describe() const {
  if (type == "Resource" && resource) {
    return resource->target.average_value
               ? absl::StrCat(resource->name, " resource")
               : absl::StrCat(resource->name, " resource utilization (percentage of request)");
  }
  if (type == "ContainerResource" && container_resource) {
    return absl::StrCat(container_resource->name, " container resource of ",
                        container_resource->container);
  }
  if (type == "Pods" && pods) return absl::StrCat("pods metric ", pods->metric.name);
  if (type == "Object" && object) {
    return absl::StrCat("object metric ", object->metric.name, " on ",
                        object->described_object.kind, "/", object->described_object.name);
  }
  if (type == "External" && external)
    return absl::StrCat("external metric ", external->metric.name);
  return absl::StrCat("metric of type \"", type, "\"");
}

void ApplyDefaults(HpaSpec* spec) {
  if (!spec->min_replicas) spec->min_replicas = 1;
  if (spec->metrics.empty()) {
    MetricSpec cpu;
    cpu.type = "Resource";
    cpu.resource = MetricSpec::ResourceSource{"cpu", MetricTarget{"Utilization", {}, {}, 80}};
    spec->metrics.push_back(std::move(cpu));
  }
  if (spec->behavior) {
    Behavior b;
    MergeRules(spec->behavior->scale_up, DefaultScaleUp(), &b.scale_up);
    MergeRules(spec->behavior->scale_down, DefaultScaleDown(), &b.scale_down);
    spec->behavior = std::move(b);
  }
}

namespace {

// Strict field validation, as `kubectl apply` has asked of the API server by
// default since Kubernetes 1.27: a field the autoscaling/v2 schema does not
// have (a misspelt `minReplica`) is an error, not a field silently dropped
// and defaulted. Maps whose keys are the user's (labels, annotations,
// matchLabels) and `status` are not walked.
class SchemaCheck {
 public:
  explicit SchemaCheck(std::vector<FieldError>* out) : out_(out) {}

  void Object(const json& j, const std::string& path) {
    if (!j.is_object()) return;
    Known(j, path, {"apiVersion", "kind", "metadata", "spec", "status"});
    if (const json* md = json_util::Find(j, "metadata")) {
      Known(*md, "metadata",
            {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
             "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
             "labels", "annotations", "ownerReferences", "finalizers", "managedFields"});
    }
    if (const json* spec = json_util::Find(j, "spec")) Spec(*spec, "spec");
  }

  void Spec(const json& j, const std::string& path) {
    Known(j, path, {"scaleTargetRef", "minReplicas", "maxReplicas", "metrics", "behavior"});
    if (const json* ref = Find(j, "scaleTargetRef")) Ref(*ref, Child(path, "scaleTargetRef"));
    if (const json* ms = Find(j, "metrics"); ms && ms->is_array()) {
      for (size_t i = 0; i < ms->size(); ++i)
        Metric((*ms)[i], absl::StrCat(path, ".metrics[", i, "]"));
    }
    if (const json* b = Find(j, "behavior")) {
      const std::string bp = Child(path, "behavior");
      Known(*b, bp, {"scaleUp", "scaleDown"});
      for (const char* dir : {"scaleUp", "scaleDown"}) {
        if (const json* r = Find(*b, dir)) Rules(*r, Child(bp, dir));
      }
    }
  }

 private:
  static const json* Find(const json& j, const char* key) {
    return j.is_object() ? json_util::Find(j, key) : nullptr;
  }

  void Known(const json& j, const std::string& path,
             std::initializer_list<std::string_view> known) {
    if (!j.is_object()) return;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
        out_->push_back(
            {Child(path, it.key()), "unknown field (not in the autoscaling/v2 schema)"});
      }
    }
  }

  void Ref(const json& j, const std::string& path) {
    Known(j, path, {"apiVersion", "kind", "name"});
  }

  void Metric(const json& j, const std::string& path) {
    Known(j, path, {"type", "object", "pods", "resource", "containerResource", "external"});
    if (const json* o = Find(j, "object")) {
      const std::string p = Child(path, "object");
      Known(*o, p, {"describedObject", "target", "metric"});
      if (const json* d = Find(*o, "describedObject")) Ref(*d, Child(p, "describedObject"));
      Source(*o, p);
    }
    for (const char* kind : {"pods", "external"}) {
      if (const json* src = Find(j, kind)) {
        Known(*src, Child(path, kind), {"metric", "target"});
        Source(*src, Child(path, kind));
      }
    }
    if (const json* r = Find(j, "resource")) {
      Known(*r, Child(path, "resource"), {"name", "target"});
      Source(*r, Child(path, "resource"));
    }
    if (const json* r = Find(j, "containerResource")) {
      Known(*r, Child(path, "containerResource"), {"name", "container", "target"});
      Source(*r, Child(path, "containerResource"));
    }
  }

  // A metric source's `metric` (MetricIdentifier) and `target` (MetricTarget).
  void Source(const json& j, const std::string& path) {
    if (const json* t = Find(j, "target")) {
      Known(*t, Child(path, "target"), {"type", "value", "averageValue", "averageUtilization"});
    }
    if (const json* m = Find(j, "metric")) {
      const std::string mp = Child(path, "metric");
      Known(*m, mp, {"name", "selector"});
      if (const json* sel = Find(*m, "selector")) {
        const std::string sp = Child(mp, "selector");
        Known(*sel, sp, {"matchLabels", "matchExpressions"});
        if (const json* es = Find(*sel, "matchExpressions"); es && es->is_array()) {
          for (size_t i = 0; i < es->size(); ++i) {
            Known((*es)[i], absl::StrCat(sp, ".matchExpressions[", i, "]"),
                  {"key", "operator", "values"});
          }
        }
      }
    }
  }

  void Rules(const json& j, const std::string& path) {
    Known(j, path, {"stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"});
    if (const json* ps = Find(j, "policies"); ps && ps->is_array()) {
      for (size_t i = 0; i < ps->size(); ++i) {
        Known((*ps)[i], absl::StrCat(path, ".policies[", i, "]"),
              {"type", "value", "periodSeconds"});
      }
    }
  }

  std::vector<FieldError>* out_;
};

}  // namespace

absl::StatusOr<HpaSpec> HpaSpecFromJson(const json& j) {
  if (j.is_object() && j.contains("spec")) {
    ASSIGN_OR_RETURN(HpaSpec spec, ParseSpec(j["spec"], "spec"));
    // A whole object: its apiVersion is the schema it is read with.
    if (const json* api = json_util::Find(j, "apiVersion")) {
      const std::string v = api->is_string() ? api->get<std::string>() : api->dump();
      if (v != "autoscaling/v2") {
        spec.schema_errors.push_back(
            {"apiVersion",
             absl::StrCat("Unsupported value: \"", v, "\": supported values: \"autoscaling/v2\"")});
      }
    }
    SchemaCheck(&spec.schema_errors).Object(j, "");
    if (const json* md = json_util::Find(j, "metadata"); md != nullptr && md->is_object()) {
      ASSIGN_OR_RETURN(auto name, json_util::OptString(*md, "name", "metadata"));
      ASSIGN_OR_RETURN(auto ns, json_util::OptString(*md, "namespace", "metadata"));
      spec.name = name.value_or("");
      spec.namespace_ = ns.value_or("");
    }
    return spec;
  }
  ASSIGN_OR_RETURN(HpaSpec spec, ParseSpec(j, "spec"));
  if (j.is_object()) SchemaCheck(&spec.schema_errors).Spec(j, "spec");
  return spec;
}

namespace {

// Counts documents and nothing else: the pre-pass below.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// yaml-cpp 0.7 (Debian 12) never returns from YAML::LoadAll on a stray flow
// indicator at the top level (",", "]", "}"): each document it yields is empty
// and leaves the token unconsumed. Every document after the first starts with
// "---" or "...", so a text cannot hold more than size/3 + 1 of them; past
// that the parser is making no progress.
absl::Status CheckDocumentsEnd(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  const size_t most = text.size() / 3 + 1;
  for (size_t docs = 0; parser.HandleNextDocument(counter);) {
    if (++docs > most) {
      return absl::InvalidArgumentError(
          "invalid YAML: the parser makes no progress (a stray ',', ']' or '}' outside a "
          "[...] or {...} list?)");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<json>> YamlToJson(const std::string& text) {
  std::vector<json> docs;
  const size_t max_nodes = text.size() + kMaxYamlAliasNodes;
  size_t budget = max_nodes;
  try {
    RETURN_IF_ERROR(CheckDocumentsEnd(text));
    for (const YAML::Node& node : YAML::LoadAll(text)) {
      if (node.IsNull()) continue;
      docs.push_back(NodeToJson(node, &budget));
      // YAML text is Unicode; a string that is not UTF-8 would make every
      // later json::dump() throw. dump() checks each string once, here.
      (void)docs.back().dump();
    }
  } catch (const json::type_error&) {
    return absl::InvalidArgumentError("invalid YAML: a string is not valid UTF-8");
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid YAML: ", e.what()));
  } catch (const TooManyNodes&) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid YAML: more than ", max_nodes,
                     " nodes once aliases are expanded (the file's size in "
                     "bytes plus ",
                     kMaxYamlAliasNodes, ")"));
  } catch (const TooDeep&) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid YAML: nested more than ", kMaxYamlDepth,
                     " levels deep (or an alias inside its own anchor)"));
  }
  return docs;
}

absl::StatusOr<std::vector<HpaSpec>> HpaSpecsFromYaml(const std::string& text) {
  ASSIGN_OR_RETURN(std::vector<json> docs, YamlToJson(text));
  std::vector<HpaSpec> specs;
  for (const json& doc : docs) {
    if (doc.is_object() && doc.contains("kind")) {
      if (!doc["kind"].is_string() || doc["kind"].get<std::string>() != "HorizontalPodAutoscaler") {
        continue;
      }
    } else if (docs.size() > 1) {
      continue;
    }
    ASSIGN_OR_RETURN(HpaSpec spec, HpaSpecFromJson(doc));
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace tide::autoscaler
