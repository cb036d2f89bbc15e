#pragma once

// `tide up --metrics-source prometheus=URL`: the HPA's metrics read from a
// real Prometheus server's HTTP API, with the HPA's metric names turned into
// PromQL by the Prometheus Adapter rules file that deploy/ ships
// (deploy/k8s/components/prometheus-adapter-rules/config.yaml), as the
// adapter does on a cluster. One HPA YAML therefore asks the same PromQL in
// `tide up` and on the cluster.
//
// The subset of the adapter's config syntax understood (what deploy/ uses,
// and resource rules for cpu):
//   rules / externalRules: seriesQuery (a metric name, optionally followed by
//     {matchers}), resources.overrides (label -> {resource: namespace|pod}),
//     name.matches (regex) / name.as ($1-style template), metricsQuery (a Go
//     template using only <<.Series>>, <<.LabelMatchers>>, <<.GroupBy>>).
//   resourceRules.cpu: containerQuery (<<.LabelMatchers>>, <<.GroupBy>>),
//     resources.overrides, containerLabel. Without one, Resource cpu is what
//     metrics-server gives: sum by (pod) (rate(process_cpu_seconds_total[w])).
// Anything else in the file (a seriesQuery without a metric name, other
// template actions, seriesFilters, ...) is refused at Create with the rule
// named, rather than silently mis-expanded.
//
// Pod identity: each replica's samples carry namespace="<namespace>" (default
// "tide-up") and pod="<replica name>", which WritePrometheusScrapeConfig puts
// on every target.
//
// Errors: Observe's errors name the PromQL and Prometheus' own error text. A
// query that returns nothing leaves that metric out (the HPA treats it as
// unavailable, as Kubernetes does). Values become milli-units as the adapter
// makes them, truncated (int64(v * 1000)); a Pods value of NaN is 0, as the
// adapter's custom-metrics provider gives it; other non-finite values are
// left out. An HPA metric no rule covers is an error
// (CheckCovered at start, and Observe), never a silent zero.
//
// Thread-compatible: Observe is called from the Controller's thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autoscaler/controller.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/quantity.h"
#include "fleet/fleet_pods.h"

namespace tide::fleet {

// One rule of the adapter's `rules:` or `externalRules:`.
struct AdapterRule {
  std::string series_query;     // as written
  std::string series;           // the metric name that starts series_query
  std::string namespace_label;  // the label overridden to resource namespace; "" = none
  std::string pod_label;        // the label overridden to resource pod; "" = none
  std::string name_matches;     // regex, unanchored; "" = "(.*)" (the adapter's default)
  std::string name_as;          // "" = "$1" when matches has one group, else "$0"
  std::string metrics_query;    // the template

  // The metric name the rule exposes (name.as applied to `series`); "" when
  // name.matches does not match.
  std::string ExposedName() const;
};

// resourceRules.cpu.
struct AdapterCpuRule {
  std::string container_query;
  std::string namespace_label;
  std::string pod_label;
  std::string container_label;  // "" = none
};

struct AdapterConfig {
  std::vector<AdapterRule> rules;           // custom.metrics.k8s.io (Pods)
  std::vector<AdapterRule> external_rules;  // external.metrics.k8s.io
  std::optional<AdapterCpuRule> cpu;
};

// Parses the adapter's config.yaml. InvalidArgument names the rule
// ("externalRules[0].metricsQuery: ...") and what is not understood.
absl::StatusOr<AdapterConfig> ParseAdapterConfig(std::string_view yaml);

// The adapter's template expansion: <<.Series>>, <<.LabelMatchers>> and
// <<.GroupBy>> replaced. InvalidArgument for any other <<...>> action.
absl::StatusOr<std::string> ExpandMetricsQuery(std::string_view tmpl, std::string_view series,
                                               std::string_view label_matchers,
                                               std::string_view group_by);

// PromQL matchers for an HPA metric's label selector (selector_json: a
// metav1.LabelSelector as JSON, "" = none), as the adapter writes them,
// sorted by label: matchLabels k=v -> k="v"; matchExpressions In -> k=~"a|b",
// NotIn -> k!~"a|b", Exists -> k!="", DoesNotExist -> k="".
absl::StatusOr<std::vector<std::string>> SelectorMatchers(std::string_view selector_json);

// One answer of GET <base>/api/v1/query: the HTTP status and body.
struct HttpAnswer {
  int status = 0;
  std::string body;
};
// GET of `url` (http://host:port/path?query). Tests inject a fake.
using HttpGetFn = std::function<absl::StatusOr<HttpAnswer>(const std::string& url)>;

// GET through the shared HTTP client (src/http: one pooled keep-alive
// connection), `timeout` for each whole exchange. Unavailable when Prometheus
// cannot be reached, DeadlineExceeded after `timeout`.
HttpGetFn PooledHttpGet(absl::Duration timeout);

// One sample of an instant-query result: its labels and value.
struct PromSample {
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
  double value = 0;
  std::string Label(std::string_view name) const;
};

// Parses an /api/v1/query answer. A vector gives its samples, a scalar one
// sample without labels. FailedPrecondition with Prometheus' errorType and
// error text when status is "error"; InvalidArgument when the body is not
// Prometheus' JSON. (`query` only names the query in messages.)
absl::StatusOr<std::vector<PromSample>> ParseQueryResponse(std::string_view query,
                                                           const HttpAnswer& answer);

class PrometheusMetricsSource final : public autoscaler::MetricsSource {
 public:
  struct Options {
    std::string base_url;            // e.g. http://127.0.0.1:9090 (a path prefix is kept)
    std::string adapter_rules_path;  // the adapter's config.yaml
    PodLister pods;                  // required
    // Given to pods whose PodInfo carries no cpu request (the denominator of
    // CPU utilization); unset = leave them as they are.
    std::optional<autoscaler::Quantity> cpu_request;
    std::string namespace_ = "tide-up";  // the namespace label of every target
    // The rate window of Resource cpu without a resource rule (metrics-server
    // reports CPU averaged over its scrape window).
    absl::Duration cpu_window = absl::Seconds(30);
    absl::Duration timeout = absl::Seconds(5);  // per query
    HttpGetFn http_get;                         // null = PooledHttpGet(timeout)
  };

  // InvalidArgument when the rules file cannot be read or parsed, the URL is
  // not http://host[:port][/prefix], or the lister is missing.
  static absl::StatusOr<std::unique_ptr<PrometheusMetricsSource>> Create(Options options);

  // NotFound naming every metric of `spec` that no rule of the file covers
  // (and the rules file); OK when all are covered.
  absl::Status CheckCovered(const autoscaler::HpaSpec& spec) const;

  // The PromQL that Observe sends for metric `m` of an HPA with these pods
  // (tests and --explain); NotFound when no rule covers it.
  absl::StatusOr<std::string> QueryFor(const autoscaler::MetricSpec& m,
                                       const std::vector<std::string>& pod_names) const;

  absl::Status Observe(const autoscaler::HpaSpec& spec, absl::Time now,
                       autoscaler::Snapshot* snapshot) override;

 private:
  explicit PrometheusMetricsSource(Options options, AdapterConfig config);
  absl::StatusOr<std::vector<PromSample>> Query(const std::string& promql, absl::Time now);
  const AdapterRule* FindRule(const std::vector<AdapterRule>& rules, std::string_view name) const;

  Options options_;
  AdapterConfig config_;
};

// Writes a Prometheus configuration (loadable by Prometheus 2.42) that
// scrapes each pod's /metrics on 127.0.0.1:<metrics_port> every
// `scrape_interval`, its samples labelled namespace="<namespace_label>" and
// pod="<pod name>" (static_configs; pods without a metrics port are left
// out). Internal if the file cannot be written.
absl::Status WritePrometheusScrapeConfig(const std::string& path, const std::vector<FleetPod>& pods,
                                         absl::Duration scrape_interval,
                                         std::string_view namespace_label = "tide-up");

}  // namespace tide::fleet
