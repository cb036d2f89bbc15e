#include "fleet/prometheus_source.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

using ::testing::HasSubstr;

// The rules file deploy/ ships, found from this file's path.
std::string ShippedRulesPath() {
  std::string here = __FILE__;  // <repo>/src/fleet/prometheus_source_test.cc
  std::string repo = here.substr(0, here.rfind("/src/fleet/"));
  return repo + "/deploy/k8s/components/prometheus-adapter-rules/config.yaml";
}

std::string TempFile(const std::string& content) {
  char path[] = "/tmp/prometheus_source_test_XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << content;
  return path;
}

FleetPod Pod(const std::string& name, uint16_t metrics_port) {
  FleetPod p;
  p.info.name = name;
  p.info.ready = true;
  p.metrics_port = metrics_port;
  return p;
}

autoscaler::HpaSpec Spec(const std::string& metrics_yaml) {
  auto specs = autoscaler::HpaSpecsFromYaml("maxReplicas: 10\nmetrics:\n" + metrics_yaml);
  EXPECT_TRUE(specs.ok()) << specs.status();
  return specs.ok() ? (*specs)[0] : autoscaler::HpaSpec{};
}

const char kCpu[] = R"(  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
)";
const char kQueue[] = R"(  - type: Pods
    pods:
      metric:
        name: tide_inference_queue_depth
        selector: {matchLabels: {model: simulated}}
      target: {type: AverageValue, averageValue: "4"}
)";
const char kP99[] = R"(  - type: External
    external:
      metric:
        name: tide_inference_request_duration_seconds_p99
        selector: {matchLabels: {model: simulated}}
      target: {type: Value, value: 200m}
)";

const char kCpuQuery[] =
    R"(sum by (pod) (rate(process_cpu_seconds_total{namespace="tide-up",pod=~"tide-serve-0|tide-serve-1"}[30s])))";
const char kQueueQuery[] =
    R"(sum by (pod) (tide_inference_queue_depth{namespace="tide-up",pod=~"tide-serve-0|tide-serve-1",model="simulated"}))";
const char kP99Query[] =
    R"(histogram_quantile(0.99, sum by (le) (rate(tide_inference_request_duration_seconds_bucket{namespace="tide-up",model="simulated"}[1m]))) > 0 or vector(0))";

std::string Vector(const std::vector<std::pair<std::string, std::string>>& pod_values) {
  std::string out = R"({"status":"success","data":{"resultType":"vector","result":[)";
  for (size_t i = 0; i < pod_values.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", R"({"metric":{"pod":")", pod_values[i].first,
                    R"("},"value":[1700000000.5,")", pod_values[i].second, R"("]})");
  }
  return out + "]}}";
}

// A Prometheus that answers by query text and records the URLs asked.
struct FakePrometheus {
  std::map<std::string, HttpAnswer> answers;  // PromQL -> answer
  std::vector<std::string> urls;
  std::vector<std::string> queries;

  static std::string Decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }
  HttpGetFn Fn() {
    return [this](const std::string& url) -> absl::StatusOr<HttpAnswer> {
      urls.push_back(url);
      size_t q = url.find("query=") + 6;
      std::string promql = Decode(url.substr(q, url.find("&time=") - q));
      queries.push_back(promql);
      auto it = answers.find(promql);
      if (it == answers.end()) return HttpAnswer{200, Vector({})};
      return it->second;
    };
  }
};

std::unique_ptr<PrometheusMetricsSource> MakeSource(FakePrometheus* fake,
                                                    std::vector<FleetPod> pods,
                                                    std::string rules = ShippedRulesPath()) {
  PrometheusMetricsSource::Options o;
  o.base_url = "http://127.0.0.1:9090/";
  o.adapter_rules_path = rules;
  o.pods = [pods] { return pods; };
  o.cpu_request = autoscaler::Quantity::FromMilli(500);
  o.http_get = fake->Fn();
  auto s = PrometheusMetricsSource::Create(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(AdapterConfig, ParsesTheShippedRules) {
  std::ifstream f(ShippedRulesPath());
  std::stringstream text;
  text << f.rdbuf();
  auto config = ParseAdapterConfig(text.str());
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->rules.size(), 3u);
  const AdapterRule& q = config->rules[0];
  EXPECT_EQ(q.series, "tide_inference_queue_depth");
  EXPECT_EQ(q.namespace_label, "namespace");
  EXPECT_EQ(q.pod_label, "pod");
  EXPECT_EQ(q.ExposedName(), "tide_inference_queue_depth");
  EXPECT_EQ(q.metrics_query, "sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})");
  // GPU utilization: tide's own gauge, and dcgm-exporter's with the GPU's pod
  // in exported_* labels; a pod's value is the mean over its GPUs.
  const AdapterRule& g = config->rules[1];
  EXPECT_EQ(g.series, "tide_gpu_utilization_ratio");
  EXPECT_EQ(g.pod_label, "pod");
  EXPECT_EQ(g.ExposedName(), "tide_gpu_utilization_ratio");
  EXPECT_EQ(g.metrics_query, "avg by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})");
  const AdapterRule& d = config->rules[2];
  EXPECT_EQ(d.series, "DCGM_FI_DEV_GPU_UTIL");
  EXPECT_EQ(d.namespace_label, "exported_namespace");
  EXPECT_EQ(d.pod_label, "exported_pod");
  EXPECT_EQ(d.ExposedName(), "DCGM_FI_DEV_GPU_UTIL");
  ASSERT_EQ(config->external_rules.size(), 1u);
  const AdapterRule& p = config->external_rules[0];
  EXPECT_EQ(p.series, "tide_inference_request_duration_seconds_bucket");
  EXPECT_EQ(p.namespace_label, "namespace");
  EXPECT_EQ(p.pod_label, "");
  EXPECT_EQ(p.ExposedName(), "tide_inference_request_duration_seconds_p99");
  EXPECT_FALSE(config->cpu.has_value());
}

TEST(AdapterConfig, NameAsTemplatesAndDefaults) {
  AdapterRule r;
  r.series = "http_requests_total";
  r.name_matches = "^(.*)_total$";
  r.name_as = "${1}_per_second";
  EXPECT_EQ(r.ExposedName(), "http_requests_per_second");
  r.name_as = "$1";
  EXPECT_EQ(r.ExposedName(), "http_requests");
  r.name_matches = "^nope$";
  EXPECT_EQ(r.ExposedName(), "");
  // No name: the series' own name ("(.*)" and "$1").
  auto config = ParseAdapterConfig(
      "rules:\n- seriesQuery: 'foo_bar{pod!=\"\"}'\n  metricsQuery: 'sum(<<.Series>>)'\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rules[0].ExposedName(), "foo_bar");
}

TEST(AdapterConfig, RefusesWhatItDoesNotUnderstandNamingTheRule) {
  auto bad_action = ParseAdapterConfig(
      "externalRules:\n- seriesQuery: 'x'\n  metricsQuery: 'sum(<<.Series>>) by (<<index "
      ".LabelValuesByName \"pod\">>)'\n");
  EXPECT_EQ(bad_action.status().message(),
            "externalRules[0].metricsQuery: template action <<index .LabelValuesByName \"pod\">> "
            "is not supported (only <<.Series>>, <<.LabelMatchers>>, <<.GroupBy>>)");
  auto no_name = ParseAdapterConfig(
      "rules:\n- seriesQuery: '{__name__=~\"^tide_.*\"}'\n  metricsQuery: 'x'\n");
  EXPECT_EQ(no_name.status().message(),
            "rules[0].seriesQuery: \"{__name__=~\"^tide_.*\"}\" must start with a metric name "
            "(other series queries are not supported)");
  auto node = ParseAdapterConfig(
      "rules:\n- seriesQuery: 'x'\n  resources:\n    overrides:\n      instance: {resource: "
      "node}\n  metricsQuery: 'x'\n");
  EXPECT_EQ(node.status().message(),
            "rules[0].resources.overrides.instance: resource \"node\" is not supported "
            "(namespace or pod)");
}

TEST(ExpandMetricsQuery, ReplacesTheThreeActions) {
  auto q = ExpandMetricsQuery("sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})", "s",
                              "a=\"1\",b=~\"x|y\"", "pod");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, "sum by (pod) (s{a=\"1\",b=~\"x|y\"})");
  EXPECT_EQ(ExpandMetricsQuery("sum(<< .Series >>", "s", "", "").value(), "sum(s");
  EXPECT_EQ(ExpandMetricsQuery("x <<.Series", "s", "", "").status().message(),
            "unclosed \"<<\" at offset 2");
}

TEST(SelectorMatchers, AsTheAdapterWritesThem) {
  auto m = SelectorMatchers(
      R"({"matchLabels":{"model":"simulated","a":"q\"x"},"matchExpressions":[)"
      R"({"key":"version","operator":"In","values":["2","1"]},)"
      R"({"key":"zone","operator":"NotIn","values":["b"]},)"
      R"({"key":"gpu","operator":"Exists"},{"key":"old","operator":"DoesNotExist"}]})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT(*m, ::testing::ElementsAre(R"(a="q\"x")", R"(gpu!="")", R"(model="simulated")",
                                         R"(old="")", R"(version=~"1|2")", R"(zone!~"b")"));
  EXPECT_TRUE(SelectorMatchers("").value().empty());
  EXPECT_EQ(
      SelectorMatchers(R"({"matchExpressions":[{"key":"a","operator":"Gt"}]})").status().message(),
      "selector.matchExpressions[0].operator: \"Gt\" is not one of In, NotIn, Exists, "
      "DoesNotExist");
}

TEST(ParseQueryResponse, VectorScalarEmptyAndErrors) {
  auto v = ParseQueryResponse("q", {200, Vector({{"a", "1.5"}, {"b", "NaN"}})});
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0].Label("pod"), "a");
  EXPECT_EQ((*v)[0].value, 1.5);
  EXPECT_TRUE(std::isnan((*v)[1].value));
  auto s = ParseQueryResponse(
      "q", {200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}})"});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].value, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(ParseQueryResponse("q", {200, Vector({})}).value().empty());
  auto err = ParseQueryResponse(
      "sum(", {400, R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: )"
                    R"(unclosed left parenthesis"})"});
  EXPECT_EQ(err.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(err.status().message(),
            "Prometheus query sum(: bad_data: 1:5: parse error: unclosed left parenthesis");
  EXPECT_EQ(ParseQueryResponse("q", {502, "Bad Gateway"}).status().message(),
            "Prometheus query q: HTTP 502 with a body that is not JSON: Bad Gateway");
  EXPECT_EQ(ParseQueryResponse(
                "q", {200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})"})
                .status()
                .message(),
            "Prometheus query q: unexpected answer (resultType matrix; an instant vector or "
            "scalar was expected)");
}

TEST(PrometheusMetricsSource, QueriesAreTheAdapterRulesExpanded) {
  FakePrometheus fake;
  auto source = MakeSource(&fake, {Pod("tide-serve-0", 1), Pod("tide-serve-1", 2)});
  ASSERT_NE(source, nullptr);
  autoscaler::HpaSpec spec = Spec(std::string(kCpu) + kQueue + kP99);
  std::vector<std::string> pods = {"tide-serve-0", "tide-serve-1"};
  EXPECT_EQ(source->QueryFor(spec.metrics[0], pods).value(), kCpuQuery);
  EXPECT_EQ(source->QueryFor(spec.metrics[1], pods).value(), kQueueQuery);
  EXPECT_EQ(source->QueryFor(spec.metrics[2], pods).value(), kP99Query);
  // One pod: an equality matcher, as the adapter writes it.
  EXPECT_EQ(
      source->QueryFor(spec.metrics[1], {"tide-serve-0"}).value(),
      R"(sum by (pod) (tide_inference_queue_depth{namespace="tide-up",pod="tide-serve-0",model="simulated"}))");
  EXPECT_TRUE(source->CheckCovered(spec).ok());
}

TEST(PrometheusMetricsSource, ObserveFillsPodsAndEveryMetric) {
  FakePrometheus fake;
  fake.answers[kCpuQuery] = {200, Vector({{"tide-serve-0", "0.25"}, {"tide-serve-1", "0.1239"}})};
  fake.answers[kQueueQuery] = {200, Vector({{"tide-serve-0", "3"}, {"tide-serve-1", "5"}})};
  fake.answers[kP99Query] = {200, R"({"status":"success","data":{"resultType":"vector","result":[)"
                                  R"({"metric":{},"value":[1700000000.5,"0.0995"]}]}})"};
  auto source = MakeSource(&fake, {Pod("tide-serve-0", 1), Pod("tide-serve-1", 2)});
  ASSERT_NE(source, nullptr);
  autoscaler::Snapshot snap;
  const absl::Time now = absl::FromUnixMillis(1700000000500);
  ASSERT_TRUE(source->Observe(Spec(std::string(kCpu) + kQueue + kP99), now, &snap).ok());

  ASSERT_EQ(fake.urls.size(), 3u);
  EXPECT_EQ(fake.urls[1],
            "http://127.0.0.1:9090/api/v1/query?query=sum%20by%20%28pod%29%20%28tide_inference_"
            "queue_depth%7Bnamespace%3D%22tide-up%22%2Cpod%3D~%22tide-serve-0%7Ctide-serve-1%22%"
            "2Cmodel%3D%22simulated%22%7D%29&time=1700000000.500");
  ASSERT_EQ(snap.pods.size(), 2u);
  EXPECT_EQ(snap.pods[1].name, "tide-serve-1");
  ASSERT_NE(snap.pods[0].containers[0].Request("cpu"), nullptr);
  EXPECT_EQ(*snap.pods[0].containers[0].Request("cpu"), autoscaler::Quantity::FromMilli(500));

  const auto& cpu = snap.metrics.pod_metrics.at("cpu");
  EXPECT_EQ(cpu.at("tide-serve-0")->milli_value, 250);
  EXPECT_EQ(cpu.at("tide-serve-1")->milli_value, 123);  // truncated, as the adapter does
  EXPECT_EQ(cpu.at("tide-serve-1")->window, absl::Seconds(30));
  EXPECT_EQ(cpu.at("tide-serve-1")->timestamp, now);
  const auto& queue = snap.metrics.pod_metrics.at("tide_inference_queue_depth");
  EXPECT_EQ(queue.at("tide-serve-0")->milli_value, 3000);
  EXPECT_EQ(queue.at("tide-serve-1")->milli_value, 5000);
  EXPECT_EQ(snap.metrics.external_metrics.at("tide_inference_request_duration_seconds_p99"),
            std::vector<int64_t>{99});
}

TEST(PrometheusMetricsSource, NanPodsValueIsZeroAsTheAdapterGivesIt) {
  FakePrometheus fake;
  fake.answers[kQueueQuery] = {200, Vector({{"tide-serve-0", "NaN"}, {"tide-serve-1", "+Inf"}})};
  auto source = MakeSource(&fake, {Pod("tide-serve-0", 1), Pod("tide-serve-1", 2)});
  autoscaler::Snapshot snap;
  ASSERT_TRUE(source->Observe(Spec(kQueue), absl::Now(), &snap).ok());
  const auto& queue = snap.metrics.pod_metrics.at("tide_inference_queue_depth");
  EXPECT_EQ(queue.at("tide-serve-0")->milli_value, 0);
  EXPECT_FALSE(queue.contains("tide-serve-1"));  // no milli value: missing
}

TEST(PrometheusMetricsSource, EmptyResultLeavesTheMetricMissing) {
  FakePrometheus fake;  // every query answers an empty vector
  auto source = MakeSource(&fake, {Pod("tide-serve-0", 1), Pod("tide-serve-1", 2)});
  autoscaler::Snapshot snap;
  ASSERT_TRUE(source->Observe(Spec(std::string(kCpu) + kQueue + kP99), absl::Now(), &snap).ok());
  EXPECT_EQ(fake.queries.size(), 3u);
  EXPECT_EQ(snap.pods.size(), 2u);
  EXPECT_TRUE(snap.metrics.pod_metrics.empty());
  EXPECT_TRUE(snap.metrics.external_metrics.empty());
}

TEST(PrometheusMetricsSource, PrometheusErrorNamesTheQuery) {
  FakePrometheus fake;
  fake.answers[kQueueQuery] = {
      503,
      R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})"};
  auto source = MakeSource(&fake, {Pod("tide-serve-0", 1), Pod("tide-serve-1", 2)});
  autoscaler::Snapshot snap;
  absl::Status st = source->Observe(Spec(kQueue), absl::Now(), &snap);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), absl::StrCat("Prometheus query ", kQueueQuery,
                                       ": timeout: query timed out in expression evaluation"));
}

TEST(PrometheusMetricsSource, OneFailingQueryLeavesOnlyThatMetricOut) {
  FakePrometheus fake;
  fake.answers[kQueueQuery] = {
      503,
      R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})"};
  fake.answers[kP99Query] = {
      200,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.25"]}]}})"};
  auto source = MakeSource(&fake, {Pod("tide-serve-0", 1), Pod("tide-serve-1", 2)});
  autoscaler::Snapshot snap;
  ASSERT_TRUE(source->Observe(Spec(std::string(kQueue) + kP99), absl::Now(), &snap).ok());
  EXPECT_TRUE(snap.metrics.pod_metrics.empty());  // the queue depth is unavailable
  EXPECT_EQ(snap.metrics.external_metrics.at("tide_inference_request_duration_seconds_p99"),
            std::vector<int64_t>{250});
}

TEST(PrometheusMetricsSource, UnreachablePrometheusNamesQueryAndUrl) {
  PrometheusMetricsSource::Options o;
  o.base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  o.adapter_rules_path = ShippedRulesPath();
  o.pods = [] { return std::vector<FleetPod>{Pod("tide-serve-0", 1)}; };
  auto source = PrometheusMetricsSource::Create(std::move(o));
  ASSERT_TRUE(source.ok());
  autoscaler::Snapshot snap;
  absl::Status st = (*source)->Observe(Spec(kP99), absl::Now(), &snap);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(st.message()),
            absl::StrCat("Prometheus query ", kP99Query,
                         " at http://127.0.0.1:1: connecting to 127.0.0.1:1: Connection refused"));
}

TEST(PrometheusMetricsSource, MetricNoRuleCoversIsAClearError) {
  FakePrometheus fake;
  auto source = MakeSource(&fake, {Pod("tide-serve-0", 1)});
  autoscaler::HpaSpec spec = Spec(R"(  - type: Pods
    pods:
      metric: {name: tide_inference_in_flight}
      target: {type: AverageValue, averageValue: "4"}
  - type: Resource
    resource:
      name: memory
      target: {type: Utilization, averageUtilization: 50}
)");
  const std::string want =
      "pods metric tide_inference_in_flight: no rule (rules:) exposes it in " + ShippedRulesPath() +
      "\nmemory resource utilization (percentage of request): no rule of the Prometheus source "
      "serves this kind of metric in " +
      ShippedRulesPath();
  absl::Status st = source->CheckCovered(spec);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), want);
  autoscaler::Snapshot snap;
  EXPECT_EQ(source->Observe(spec, absl::Now(), &snap).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(fake.urls.empty());
}

TEST(PrometheusMetricsSource, CpuResourceRuleWhenTheFileHasOne) {
  std::string rules = TempFile(R"(resourceRules:
  cpu:
    containerQuery: 'sum by (<<.GroupBy>>) (rate(container_cpu_usage_seconds_total{container!="",<<.LabelMatchers>>}[3m]))'
    resources:
      overrides:
        namespace: {resource: namespace}
        pod: {resource: pod}
    containerLabel: container
)");
  FakePrometheus fake;
  const std::string q =
      R"(sum by (pod,container) (rate(container_cpu_usage_seconds_total{container!="",namespace="tide-up",pod="tide-serve-0"}[3m])))";
  fake.answers[q] = {200,
                     R"({"status":"success","data":{"resultType":"vector","result":[)"
                     R"({"metric":{"pod":"tide-serve-0","container":"a"},"value":[1,"0.2"]},)"
                     R"({"metric":{"pod":"tide-serve-0","container":"b"},"value":[1,"0.1"]}]}})"};
  auto source = MakeSource(&fake, {Pod("tide-serve-0", 1)}, rules);
  ASSERT_NE(source, nullptr);
  autoscaler::Snapshot snap;
  ASSERT_TRUE(source->Observe(Spec(kCpu), absl::Now(), &snap).ok());
  EXPECT_EQ(fake.queries, std::vector<std::string>{q});
  // Containers of one pod added up.
  EXPECT_EQ(snap.metrics.pod_metrics.at("cpu").at("tide-serve-0")->milli_value, 300);
  std::remove(rules.c_str());
}

TEST(PrometheusMetricsSource, CreateRefusesBadInput) {
  PrometheusMetricsSource::Options o;
  o.base_url = "https://prom:9090";
  o.adapter_rules_path = ShippedRulesPath();
  o.pods = [] { return std::vector<FleetPod>{}; };
  EXPECT_EQ(PrometheusMetricsSource::Create(o).status().message(),
            "--metrics-source prometheus=URL: \"https://prom:9090\" is not http://host[:port]");
  o.base_url = "http://prom:9090";
  o.adapter_rules_path = "/nonexistent/config.yaml";
  EXPECT_EQ(PrometheusMetricsSource::Create(o).status().message(),
            "cannot read the adapter rules file /nonexistent/config.yaml");
}

TEST(WritePrometheusScrapeConfig, StaticTargetsWithNamespaceAndPodLabels) {
  std::string path = TempFile("");
  std::vector<FleetPod> pods = {Pod("tide-serve-0", 9100), Pod("tide-serve-1", 0),
                                Pod("tide-serve-2", 9102)};
  ASSERT_TRUE(WritePrometheusScrapeConfig(path, pods, absl::Seconds(1)).ok());
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_EQ(text.str(),
            "# Written by tide up: scrapes each replica's /metrics; every sample\n"
            "# carries namespace and pod labels, as a ServiceMonitor gives them.\n"
            "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: tide-up\n"
            "    scrape_interval: 1s\n"
            "    scrape_timeout: 1s\n"
            "    metrics_path: /metrics\n"
            "    honor_labels: false\n"
            "    static_configs:\n"
            "      - targets: [\"127.0.0.1:9100\"]\n"
            "        labels:\n"
            "          namespace: \"tide-up\"\n"
            "          pod: \"tide-serve-0\"\n"
            "      - targets: [\"127.0.0.1:9102\"]\n"
            "        labels:\n"
            "          namespace: \"tide-up\"\n"
            "          pod: \"tide-serve-2\"\n");
  // Prometheus (Debian's 2.42 where installed) takes it.
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    EXPECT_EQ(std::system(("promtool check config " + path + " >/dev/null 2>&1").c_str()), 0);
  }
  ASSERT_TRUE(WritePrometheusScrapeConfig(path, {}, absl::Milliseconds(15500)).ok());
  std::stringstream empty;
  empty << std::ifstream(path).rdbuf();
  EXPECT_THAT(empty.str(), HasSubstr("  scrape_interval: 15500ms\n"));
  EXPECT_THAT(empty.str(), HasSubstr("    scrape_timeout: 10s\n"));
  EXPECT_THAT(empty.str(), HasSubstr("    static_configs: []\n"));
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    EXPECT_EQ(std::system(("promtool check config " + path + " >/dev/null 2>&1").c_str()), 0);
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tide::fleet
