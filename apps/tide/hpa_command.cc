#include "hpa_command.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "autoscaler/decision.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/snapshot_json.h"
#include "nlohmann/json.hpp"

namespace tide::app {
namespace {

using autoscaler::HpaSpec;

bool ReadInput(const std::string& file, std::istream& in, std::string* text, std::ostream& err) {
  if (file == "-") {
    std::ostringstream buf;
    buf << in.rdbuf();
    *text = buf.str();
    return true;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    err << "tide hpa: " << file << ": is a directory; give a YAML or JSON file\n";
    return false;
  }
  std::ifstream f(file, std::ios::binary);
  if (!f) {
    err << "tide hpa: " << file << ": cannot open file\n";
    return false;
  }
  std::ostringstream buf;
  buf << f.rdbuf();
  *text = buf.str();
  return true;
}

std::string DisplayName(const std::string& file) { return file == "-" ? "<stdin>" : file; }

std::string TargetSummary(const autoscaler::MetricSpec& m) {
  auto target = [](const autoscaler::MetricTarget& t) -> std::string {
    if (t.average_utilization) return absl::StrCat(*t.average_utilization, "% utilization");
    if (t.average_value) return absl::StrCat("average ", t.average_value->ToString());
    if (t.value) return absl::StrCat("value ", t.value->ToString());
    return "no target";
  };
  if (m.resource) return absl::StrCat(m.resource->name, " ", target(m.resource->target));
  if (m.container_resource) {
    return absl::StrCat(m.container_resource->name, " of container ",
                        m.container_resource->container, " ", target(m.container_resource->target));
  }
  if (m.pods) return absl::StrCat("pods ", m.pods->metric.name, " ", target(m.pods->target));
  if (m.object)
    return absl::StrCat("object ", m.object->metric.name, " ", target(m.object->target));
  if (m.external) {
    return absl::StrCat("external ", m.external->metric.name, " ", target(m.external->target));
  }
  return m.type;
}

std::string Summary(HpaSpec spec) {
  std::string ref = spec.scale_target_ref ? absl::StrCat(spec.scale_target_ref->kind, "/",
                                                         spec.scale_target_ref->name)
                                          : "?";
  autoscaler::ApplyDefaults(&spec);
  std::vector<std::string> metrics;
  for (const auto& m : spec.metrics) metrics.push_back(TargetSummary(m));
  return absl::StrCat(spec.name.empty() ? "HorizontalPodAutoscaler" : spec.name, ": valid (", ref,
                      ", replicas ", spec.MinReplicasOrDefault(), "..", spec.max_replicas,
                      "; metrics: ", absl::StrJoin(metrics, ", "),
                      spec.behavior ? "; behavior" : "; legacy scaling (no behavior)", ")");
}

}  // namespace

int RunHpaDecide(const HpaDecideOptions& options, std::istream& in, std::ostream& out,
                 std::ostream& err) {
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const std::string& file : options.files) {
    std::string text;
    if (!ReadInput(file, in, &text, err)) return 2;
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
      err << "tide hpa decide: " << DisplayName(file) << ": not valid JSON: " << e.what() << "\n";
      return 2;
    }
    auto cases = autoscaler::ParseSnapshots(doc);
    if (!cases.ok()) {
      err << "tide hpa decide: " << DisplayName(file) << ": " << cases.status().message() << "\n";
      return 2;
    }
    for (autoscaler::SnapshotCase& c : *cases) {
      autoscaler::Decision d = autoscaler::Decide(c.spec, c.config, c.snapshot, c.now, &c.history);
      results.push_back(autoscaler::DecisionToJson(c.name, d));
    }
  }
  out << (options.compact ? results.dump() : results.dump(2)) << "\n";
  return 0;
}

int RunHpaValidate(const HpaValidateOptions& options, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  std::string text;
  if (!ReadInput(options.file, in, &text, err)) return 2;
  auto specs = autoscaler::HpaSpecsFromYaml(text);
  if (!specs.ok()) {
    err << DisplayName(options.file) << ": " << specs.status().message() << "\n";
    return 1;
  }
  if (specs->empty()) {
    err << DisplayName(options.file) << ": no HorizontalPodAutoscaler found\n";
    return 1;
  }
  autoscaler::ValidationOptions vo;
  vo.hpa_scale_to_zero = options.hpa_scale_to_zero;
  bool all_valid = true;
  for (const HpaSpec& spec : *specs) {
    std::vector<autoscaler::FieldError> errors = autoscaler::Validate(spec, vo);
    if (errors.empty()) {
      out << Summary(spec) << "\n";
      continue;
    }
    all_valid = false;
    std::vector<std::string> lines;
    for (const auto& e : errors) lines.push_back(e.ToString());
    out << "The HorizontalPodAutoscaler \"" << spec.name << "\" is invalid: \n* "
        << absl::StrJoin(lines, "\n* ") << "\n";
  }
  return all_valid ? 0 : 1;
}

}  // namespace tide::app
