#include "fleet/prometheus_source.h"

#include "spdlog/spdlog.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "http/client.h"
#include "http/request.h"
#include "nlohmann/json.hpp"

namespace tide::fleet {
namespace {

using json = nlohmann::json;

// Go's %q for the label values the adapter writes (prom.LabelEq and friends).
std::string Quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// "30s", "1m" would also do; whole seconds or milliseconds are always valid.
std::string PromDuration(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, "s");
  return absl::StrCat(ms, "ms");
}

std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// resources.overrides -> the labels naming the namespace and the pod.
absl::Status ParseOverrides(const json& rule, const std::string& where, std::string* ns_label,
                            std::string* pod_label) {
  auto res = rule.find("resources");
  if (res == rule.end()) return absl::OkStatus();
  if (res->contains("template")) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".resources.template: not supported (use resources.overrides)"));
  }
  auto ov = res->find("overrides");
  if (ov == res->end()) return absl::OkStatus();
  if (!ov->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".resources.overrides: not a map"));
  }
  for (const auto& [label, target] : ov->items()) {
    std::string resource = target.is_object() ? StringField(target, "resource") : "";
    if (resource == "namespace" || resource == "namespaces") {
      *ns_label = label;
    } else if (resource == "pod" || resource == "pods") {
      *pod_label = label;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(where, ".resources.overrides.", label,
                                                     ": resource \"", resource,
                                                     "\" is not supported (namespace or pod)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AdapterRule> ParseRule(const json& j, const std::string& where) {
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, ": not a map"));
  AdapterRule r;
  r.series_query = StringField(j, "seriesQuery");
  static const std::regex kName("^\\s*([A-Za-z_:][A-Za-z0-9_:]*)\\s*(\\{.*\\})?\\s*$");
  std::smatch m;
  if (!std::regex_match(r.series_query, m, kName)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".seriesQuery: \"", r.series_query,
                     "\" must start with a metric name (other series queries are not supported)"));
  }
  r.series = m[1].str();
  for (const char* unsupported : {"seriesFilters"}) {
    if (j.contains(unsupported) && !j[unsupported].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", unsupported, ": not supported"));
    }
  }
  RETURN_IF_ERROR(ParseOverrides(j, where, &r.namespace_label, &r.pod_label));
  if (auto name = j.find("name"); name != j.end() && name->is_object()) {
    r.name_matches = StringField(*name, "matches");
    r.name_as = StringField(*name, "as");
  }
  try {
    std::regex re(r.name_matches.empty() ? "(.*)" : r.name_matches);
    if (r.name_as.empty()) {
      if (re.mark_count() > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".name.as: required when name.matches has more than one group"));
      }
      r.name_as = re.mark_count() == 1 ? "$1" : "$0";
    }
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".name.matches: \"", r.name_matches, "\": ", e.what()));
  }
  r.metrics_query = StringField(j, "metricsQuery");
  if (r.metrics_query.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".metricsQuery: required"));
  }
  // Refuse templates this expansion does not understand now, not at the first sync.
  auto probe = ExpandMetricsQuery(r.metrics_query, "s", "m", "g");
  if (!probe.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".metricsQuery: ", probe.status().message()));
  }
  return r;
}

absl::StatusOr<std::vector<AdapterRule>> ParseRules(const json& doc, const char* key) {
  std::vector<AdapterRule> out;
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) return absl::InvalidArgumentError(absl::StrCat(key, ": not a list"));
  for (size_t i = 0; i < it->size(); ++i) {
    ASSIGN_OR_RETURN(AdapterRule r, ParseRule((*it)[i], absl::StrCat(key, "[", i, "]")));
    out.push_back(std::move(r));
  }
  return out;
}

// Prometheus' sample value strings: decimals, "NaN", "+Inf", "-Inf".
std::optional<double> ParseValue(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

// The adapter builds quantities with resource.NewMilliQuantity(int64(v*1000)).
std::optional<int64_t> ToMilli(double v) {
  if (!std::isfinite(v)) return std::nullopt;
  double m = v * 1000.0;
  if (m >= 9.2e18 || m <= -9.2e18) return std::nullopt;
  return static_cast<int64_t>(m);
}

}  // namespace

std::string AdapterRule::ExposedName() const {
  std::regex re(name_matches.empty() ? "(.*)" : name_matches);
  std::smatch m;
  if (!std::regex_search(series, m, re)) return "";
  // Go's Regexp.Expand: $1 or ${1}; $$ is a literal $.
  std::string out;
  for (size_t i = 0; i < name_as.size(); ++i) {
    char c = name_as[i];
    if (c != '$' || i + 1 == name_as.size()) {
      out += c;
      continue;
    }
    if (name_as[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool braced = name_as[j] == '{';
    if (braced) ++j;
    size_t start = j;
    while (j < name_as.size() && absl::ascii_isdigit(static_cast<unsigned char>(name_as[j]))) ++j;
    if (j == start || (braced && (j == name_as.size() || name_as[j] != '}'))) {
      out += c;
      continue;
    }
    size_t group = std::stoul(name_as.substr(start, j - start));
    if (group < m.size()) out += m[group].str();
    i = braced ? j : j - 1;
  }
  return out;
}

absl::StatusOr<AdapterConfig> ParseAdapterConfig(std::string_view yaml) {
  ASSIGN_OR_RETURN(std::vector<json> docs, autoscaler::YamlToJson(std::string(yaml)));
  if (docs.size() != 1 || !docs[0].is_object()) {
    return absl::InvalidArgumentError("the adapter config must be one YAML map (rules:, ...)");
  }
  const json& doc = docs[0];
  AdapterConfig config;
  ASSIGN_OR_RETURN(config.rules, ParseRules(doc, "rules"));
  ASSIGN_OR_RETURN(config.external_rules, ParseRules(doc, "externalRules"));
  if (auto rr = doc.find("resourceRules"); rr != doc.end() && rr->is_object()) {
    if (auto cpu = rr->find("cpu"); cpu != rr->end() && cpu->is_object()) {
      AdapterCpuRule c;
      c.container_query = StringField(*cpu, "containerQuery");
      c.container_label = StringField(*cpu, "containerLabel");
      if (c.container_query.empty()) {
        return absl::InvalidArgumentError("resourceRules.cpu.containerQuery: required");
      }
      RETURN_IF_ERROR(ParseOverrides(*cpu, "resourceRules.cpu", &c.namespace_label, &c.pod_label));
      if (auto probe = ExpandMetricsQuery(c.container_query, "", "m", "g"); !probe.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("resourceRules.cpu.containerQuery: ", probe.status().message()));
      }
      config.cpu = std::move(c);
    }
  }
  return config;
}

absl::StatusOr<std::string> ExpandMetricsQuery(std::string_view tmpl, std::string_view series,
                                               std::string_view label_matchers,
                                               std::string_view group_by) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = tmpl.find("<<", pos);
    if (open == std::string_view::npos) break;
    size_t close = tmpl.find(">>", open + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unclosed \"<<\" at offset ", open));
    }
    out.append(tmpl.substr(pos, open - pos));
    std::string action(
        absl::StripAsciiWhitespace(std::string(tmpl.substr(open + 2, close - open - 2))));
    if (action == ".Series") {
      out.append(series);
    } else if (action == ".LabelMatchers") {
      out.append(label_matchers);
    } else if (action == ".GroupBy") {
      out.append(group_by);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("template action <<", action,
                       ">> is not supported (only <<.Series>>, <<.LabelMatchers>>, <<.GroupBy>>)"));
    }
    pos = close + 2;
  }
  out.append(tmpl.substr(pos));
  return out;
}

absl::StatusOr<std::vector<std::string>> SelectorMatchers(std::string_view selector_json) {
  std::vector<std::string> out;
  if (absl::StripAsciiWhitespace(std::string(selector_json)).empty()) return out;
  json sel = json::parse(selector_json, nullptr, /*allow_exceptions=*/false);
  if (sel.is_discarded() || !(sel.is_object() || sel.is_null())) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric selector is not a JSON object: ", std::string(selector_json)));
  }
  // Requirements sorted by key, as labels.Selector keeps them.
  std::multimap<std::string, std::string> by_key;
  if (sel.is_null()) return out;
  if (auto ml = sel.find("matchLabels"); ml != sel.end() && ml->is_object()) {
    for (const auto& [k, v] : ml->items()) {
      if (!v.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("selector.matchLabels.", k, ": not a string"));
      }
      by_key.emplace(k, absl::StrCat(k, "=", Quote(v.get<std::string>())));
    }
  }
  if (auto me = sel.find("matchExpressions"); me != sel.end() && me->is_array()) {
    for (size_t i = 0; i < me->size(); ++i) {
      const json& e = (*me)[i];
      std::string key = StringField(e, "key"), op = StringField(e, "operator");
      std::vector<std::string> values;
      if (auto v = e.find("values"); v != e.end() && v->is_array()) {
        for (const auto& x : *v) {
          if (x.is_string()) values.push_back(x.get<std::string>());
        }
      }
      std::sort(values.begin(), values.end());
      std::string joined = absl::StrJoin(values, "|");
      std::string m;
      if (op == "In") {
        m = absl::StrCat(key, "=~", Quote(joined));
      } else if (op == "NotIn") {
        m = absl::StrCat(key, "!~", Quote(joined));
      } else if (op == "Exists") {
        m = absl::StrCat(key, "!=\"\"");
      } else if (op == "DoesNotExist") {
        m = absl::StrCat(key, "=\"\"");
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("selector.matchExpressions[", i, "].operator: \"", op,
                         "\" is not one of In, NotIn, Exists, DoesNotExist"));
      }
      by_key.emplace(key, std::move(m));
    }
  }
  for (auto& [k, m] : by_key) out.push_back(std::move(m));
  return out;
}

std::string PromSample::Label(std::string_view name) const {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return "";
}

absl::StatusOr<std::vector<PromSample>> ParseQueryResponse(std::string_view query_view,
                                                           const HttpAnswer& answer) {
  const std::string query(query_view);
  json j = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Prometheus query ", query, ": HTTP ", answer.status,
                     " with a body that is not JSON: ", answer.body.substr(0, 200)));
  }
  std::string status = StringField(j, "status");
  if (status == "error") {
    return absl::FailedPreconditionError(absl::StrCat("Prometheus query ", query, ": ",
                                                      StringField(j, "errorType"), ": ",
                                                      StringField(j, "error")));
  }
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("Prometheus query ", query, ": unexpected answer (", what, ")"));
  };
  if (status != "success" || answer.status != 200) return bad("status is not success");
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return bad("no data");
  std::string type = StringField(*data, "resultType");
  auto result = data->find("result");
  if (result == data->end()) return bad("no data.result");
  std::vector<PromSample> out;
  if (type == "scalar") {
    if (!result->is_array() || result->size() != 2) return bad("scalar is not [time, value]");
    auto v = ParseValue((*result)[1]);
    if (!v) return bad("scalar value is not a number");
    out.push_back(PromSample{{}, *v});
    return out;
  }
  if (type != "vector") {
    return bad(absl::StrCat("resultType ", type, "; an instant vector or scalar was expected"));
  }
  if (!result->is_array()) return bad("vector result is not a list");
  for (const auto& s : *result) {
    auto metric = s.find("metric");
    auto value = s.find("value");
    if (metric == s.end() || !metric->is_object() || value == s.end() || !value->is_array() ||
        value->size() != 2) {
      return bad("a vector sample without metric and [time, value]");
    }
    auto v = ParseValue((*value)[1]);
    if (!v) return bad("a sample value is not a number");
    PromSample ps;
    ps.value = *v;
    for (const auto& [k, lv] : metric->items()) {
      if (lv.is_string()) ps.labels.emplace_back(k, lv.get<std::string>());
    }
    std::sort(ps.labels.begin(), ps.labels.end());
    out.push_back(std::move(ps));
  }
  return out;
}

absl::Status WritePrometheusScrapeConfig(const std::string& path, const std::vector<FleetPod>& pods,
                                         absl::Duration scrape_interval,
                                         std::string_view namespace_label) {
  if (scrape_interval < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("scrape interval must be at least 1ms");
  }
  // scrape_timeout must not exceed the interval (Prometheus refuses the file).
  absl::Duration timeout = std::min(scrape_interval, absl::Seconds(10));
  std::ostringstream y;
  y << "# Written by tide up: scrapes each replica's /metrics; every sample\n"
    << "# carries namespace and pod labels, as a ServiceMonitor gives them.\n"
    << "global:\n"
    << "  scrape_interval: " << PromDuration(scrape_interval) << "\n"
    << "  evaluation_interval: " << PromDuration(scrape_interval) << "\n"
    << "scrape_configs:\n"
    << "  - job_name: tide-up\n"
    << "    scrape_interval: " << PromDuration(scrape_interval) << "\n"
    << "    scrape_timeout: " << PromDuration(timeout) << "\n"
    << "    metrics_path: /metrics\n"
    << "    honor_labels: false\n";
  int targets = 0;
  for (const FleetPod& p : pods) {
    if (p.metrics_port == 0) continue;
    if (targets++ == 0) y << "    static_configs:\n";
    y << "      - targets: [" << Quote(absl::StrCat("127.0.0.1:", p.metrics_port)) << "]\n"
      << "        labels:\n"
      << "          namespace: " << Quote(namespace_label) << "\n"
      << "          pod: " << Quote(p.info.name) << "\n";
  }
  if (targets == 0) y << "    static_configs: []\n";
  std::ofstream f(path, std::ios::trunc);
  f << y.str();
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write the Prometheus config ", path));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

PrometheusMetricsSource::PrometheusMetricsSource(Options options, AdapterConfig config)
    : options_(std::move(options)), config_(std::move(config)) {}

absl::StatusOr<std::unique_ptr<PrometheusMetricsSource>> PrometheusMetricsSource::Create(
    Options options) {
  if (!options.pods) return absl::InvalidArgumentError("PrometheusMetricsSource: no pod lister");
  if (!absl::StartsWith(options.base_url, "http://") || options.base_url.size() <= 7) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-source prometheus=URL: \"", options.base_url, "\" is not http://host[:port]"));
  }
  while (absl::EndsWith(options.base_url, "/")) options.base_url.pop_back();
  std::ifstream f(options.adapter_rules_path);
  if (!f) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the adapter rules file ", options.adapter_rules_path));
  }
  std::stringstream text;
  text << f.rdbuf();
  auto config = ParseAdapterConfig(text.str());
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.adapter_rules_path, ": ", config.status().message()));
  }
  if (!httpc::ParseUrl(options.base_url).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-source prometheus=URL: \"", options.base_url, "\" is not http://host[:port]"));
  }
  if (!options.http_get) options.http_get = PooledHttpGet(options.timeout);
  return std::unique_ptr<PrometheusMetricsSource>(
      new PrometheusMetricsSource(std::move(options), *std::move(config)));
}

const AdapterRule* PrometheusMetricsSource::FindRule(const std::vector<AdapterRule>& rules,
                                                     std::string_view name) const {
  for (const AdapterRule& r : rules) {
    if (r.ExposedName() == name) return &r;
  }
  return nullptr;
}

absl::StatusOr<std::string> PrometheusMetricsSource::QueryFor(
    const autoscaler::MetricSpec& m, const std::vector<std::string>& pod_names) const {
  const std::string pods_value = absl::StrJoin(pod_names, "|");
  auto pod_matcher = [&](const std::string& label) {
    return absl::StrCat(label, pod_names.size() > 1 ? "=~" : "=", Quote(pods_value));
  };
  auto not_covered = [&](std::string_view what) {
    return absl::NotFoundError(
        absl::StrCat(m.Describe(), ": ", std::string(what), " in ", options_.adapter_rules_path));
  };
  if (m.type == "Resource" && m.resource && m.resource->name == "cpu") {
    if (config_.cpu) {
      const AdapterCpuRule& c = *config_.cpu;
      std::vector<std::string> matchers;
      if (!c.namespace_label.empty()) {
        matchers.push_back(absl::StrCat(c.namespace_label, "=", Quote(options_.namespace_)));
      }
      std::string pod_label = c.pod_label.empty() ? "pod" : c.pod_label;
      matchers.push_back(pod_matcher(pod_label));
      std::string group_by = pod_label;
      if (!c.container_label.empty()) absl::StrAppend(&group_by, ",", c.container_label);
      return ExpandMetricsQuery(c.container_query, "", absl::StrJoin(matchers, ","), group_by);
    }
    // metrics-server's view: the CPU rate over its window, per pod, in cores.
    return absl::StrCat(
        "sum by (pod) (rate(process_cpu_seconds_total{namespace=", Quote(options_.namespace_), ",",
        pod_matcher("pod"), "}[", PromDuration(options_.cpu_window), "]))");
  }
  if (m.type == "Pods" && m.pods) {
    const AdapterRule* r = FindRule(config_.rules, m.pods->metric.name);
    if (r == nullptr) return not_covered("no rule (rules:) exposes it");
    if (r->pod_label.empty()) return not_covered("its rule maps no label to resource pod");
    ASSIGN_OR_RETURN(std::vector<std::string> sel, SelectorMatchers(m.pods->metric.selector_json));
    std::vector<std::string> matchers;
    if (!r->namespace_label.empty()) {
      matchers.push_back(absl::StrCat(r->namespace_label, "=", Quote(options_.namespace_)));
    }
    matchers.push_back(pod_matcher(r->pod_label));
    matchers.insert(matchers.end(), sel.begin(), sel.end());
    return ExpandMetricsQuery(r->metrics_query, r->series, absl::StrJoin(matchers, ","),
                              r->pod_label);
  }
  if (m.type == "External" && m.external) {
    const AdapterRule* r = FindRule(config_.external_rules, m.external->metric.name);
    if (r == nullptr) return not_covered("no rule (externalRules:) exposes it");
    ASSIGN_OR_RETURN(std::vector<std::string> sel,
                     SelectorMatchers(m.external->metric.selector_json));
    std::vector<std::string> matchers;
    if (!r->namespace_label.empty()) {
      matchers.push_back(absl::StrCat(r->namespace_label, "=", Quote(options_.namespace_)));
    }
    matchers.insert(matchers.end(), sel.begin(), sel.end());
    return ExpandMetricsQuery(r->metrics_query, r->series, absl::StrJoin(matchers, ","), "");
  }
  return not_covered("no rule of the Prometheus source serves this kind of metric");
}

absl::Status PrometheusMetricsSource::CheckCovered(const autoscaler::HpaSpec& spec) const {
  std::vector<std::string> problems;
  for (const autoscaler::MetricSpec& m : spec.metrics) {
    auto q = QueryFor(m, {"p"});
    if (!q.ok()) problems.push_back(std::string(q.status().message()));
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::NotFoundError(absl::StrJoin(problems, "\n"));
}

absl::StatusOr<std::vector<PromSample>> PrometheusMetricsSource::Query(const std::string& promql,
                                                                       absl::Time now) {
  std::string url = absl::StrCat(
      options_.base_url, "/api/v1/query?query=", UrlEncode(promql),
      "&time=", absl::StrFormat("%.3f", absl::ToDoubleSeconds(now - absl::UnixEpoch())));
  auto answer = options_.http_get(url);
  if (!answer.ok()) {
    return absl::Status(answer.status().code(),
                        absl::StrCat("Prometheus query ", promql, " at ", options_.base_url, ": ",
                                     answer.status().message()));
  }
  return ParseQueryResponse(promql, *answer);
}

absl::Status PrometheusMetricsSource::Observe(const autoscaler::HpaSpec& spec, absl::Time now,
                                              autoscaler::Snapshot* snapshot) {
  std::vector<FleetPod> pods = options_.pods();
  std::vector<std::string> names;
  snapshot->pods.clear();
  for (FleetPod& p : pods) {
    names.push_back(p.info.name);
    if (options_.cpu_request) {
      bool has_cpu = false;
      for (const auto& c : p.info.containers) has_cpu = has_cpu || c.Request("cpu") != nullptr;
      for (const auto& [r, q] : p.info.pod_requests) has_cpu = has_cpu || r == "cpu";
      if (!has_cpu) {
        if (p.info.containers.empty()) p.info.containers.push_back({"tide-serve", {}, ""});
        p.info.containers[0].requests.emplace_back("cpu", *options_.cpu_request);
      }
    }
    snapshot->pods.push_back(std::move(p.info));
  }
  // As the HPA does with its metrics APIs: a metric whose query fails is
  // left out (unavailable) and the others still count; only when every
  // query failed is the reconcile aborted, with the first error.
  int queried = 0, failed = 0;
  absl::Status first_error;
  for (const autoscaler::MetricSpec& m : spec.metrics) {
    const bool per_pod = m.type == "Resource" || m.type == "Pods";
    if (per_pod && names.empty()) continue;  // nothing to ask about
    ASSIGN_OR_RETURN(std::string promql, QueryFor(m, names));
    ++queried;
    absl::StatusOr<std::vector<PromSample>> answer = Query(promql, now);
    if (!answer.ok()) {
      if (failed++ == 0) first_error = answer.status();
      continue;
    }
    std::vector<PromSample> samples = *std::move(answer);
    if (per_pod) {
      const bool cpu = m.type == "Resource";
      std::string key = cpu ? m.resource->name : m.pods->metric.name;
      std::string pod_label = "pod";
      if (cpu && config_.cpu && !config_.cpu->pod_label.empty()) pod_label = config_.cpu->pod_label;
      if (!cpu) pod_label = FindRule(config_.rules, key)->pod_label;
      // Several series of one pod (containers) are added up, as the adapter does.
      std::map<std::string, double> by_pod;
      for (const PromSample& s : samples) {
        std::string pod = s.Label(pod_label);
        if (!pod.empty()) by_pod[pod] += s.value;
      }
      if (by_pod.empty()) continue;  // no data: the metric is unavailable
      autoscaler::PodSamples& out = snapshot->metrics.pod_metrics[key];
      for (const auto& [pod, value] : by_pod) {
        // The adapter's custom-metrics provider turns NaN into 0.
        std::optional<int64_t> milli = !cpu && std::isnan(value) ? 0 : ToMilli(value);
        if (!milli) continue;
        autoscaler::Sample s;
        s.milli_value = *milli;
        s.timestamp = now;
        if (cpu) s.window = options_.cpu_window;
        out[pod] = s;
      }
    } else {
      std::vector<int64_t> values;
      for (const PromSample& s : samples) {
        if (auto milli = ToMilli(s.value)) values.push_back(*milli);
      }
      if (values.empty()) continue;
      snapshot->metrics.external_metrics[m.external->metric.name] = std::move(values);
    }
  }
  if (failed > 0 && failed == queried) return first_error;
  if (failed > 0) {
    spdlog::warn("{} of {} metric queries failed (those metrics are unavailable this sync): {}",
                 failed, queried, std::string(first_error.message()));
  }
  return absl::OkStatus();
}

HttpGetFn PooledHttpGet(absl::Duration timeout) {
  httpc::ClientOptions options;
  options.connect_timeout = std::min(timeout, absl::Seconds(5));
  options.read_timeout = timeout;
  options.total_timeout = timeout;
  options.max_idle_per_host = 1;  // one reconcile at a time
  auto client = std::make_shared<httpc::Client>(options);
  return [client](const std::string& url) -> absl::StatusOr<HttpAnswer> {
    ASSIGN_OR_RETURN(httpc::Url parsed, httpc::ParseUrl(url));
    ASSIGN_OR_RETURN(httpc::Response response, client->Get(parsed));
    return HttpAnswer{response.status, std::move(response.body)};
  };
}

}  // namespace tide::fleet
