#pragma once

// The one reader of the Prometheus text exposition format, version 0.0.4
// (what `tide serve` renders at /metrics, and what every Prometheus client
// library serves). `tide load`, bench/http_load, the integration tests, and
// the coming `tide up` scrapers all read /metrics through it.
//
// It follows the reference parser (prometheus/common expfmt, text_parse.go):
// `# HELP` and `# TYPE` lines (other comments ignored), metric and label names
// checked, label values unescaped (\\ \" \n) and required to be UTF-8,
// values as Go's ParseFloat reads them (+Inf, -Inf, NaN), optional int64
// timestamps in milliseconds, blank lines, histograms (`_bucket` with a float
// `le`, `_sum`, `_count`) and summaries (`quantile`, `_sum`, `_count`).
//
// The input is untrusted: any text gives a result or an InvalidArgument that
// names the line and what is wrong, never a crash. Work and memory are linear
// in the input's size (times log of the labels per line).
//
// Pure and thread-compatible: no state outside the returned value.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::metrics {

// What a `# TYPE` line can declare. (metrics::Type is what a Registry holds.)
enum class MetricType { kUntyped, kCounter, kGauge, kHistogram, kSummary };

// "untyped", "counter", "gauge", "histogram", "summary": the word in `# TYPE`.
std::string_view MetricTypeName(MetricType type);

// Label name -> unescaped value.
using LabelMap = std::map<std::string, std::string>;

// One family: its name, declared type (kUntyped when no TYPE line) and HELP
// text (unescaped; empty when there is none).
struct MetricFamily {
  std::string name;
  MetricType type = MetricType::kUntyped;
  std::string help;
};

// One sample line. `name` is as written: a histogram `foo` has samples named
// foo_bucket, foo_sum and foo_count, all in the family `foo`.
struct MetricSample {
  std::string name;
  LabelMap labels;  // including `le` / `quantile`, as written
  double value = 0;
  std::optional<int64_t> timestamp_ms;
  size_t family = 0;  // index into Exposition::families
};

// A histogram's series added up: cumulative bucket counts by upper bound
// (+Inf included), the sum and the count.
struct HistogramSum {
  std::map<double, double> buckets;
  double sum = 0;
  double count = 0;
};

// A parsed exposition: families in order of first appearance, samples in
// input order.
struct Exposition {
  std::vector<MetricFamily> families;
  std::vector<MetricSample> samples;

  // The family named `name` exactly, or null.
  const MetricFamily* FindFamily(std::string_view name) const;

  // The value of the first sample named `name` whose labels are exactly
  // `labels` (no more, no fewer); nullopt when there is none.
  std::optional<double> Value(std::string_view name, const LabelMap& labels = {}) const;

  // The samples named `name` that carry every label in `match` (and possibly
  // others), in input order.
  std::vector<const MetricSample*> Select(std::string_view name, const LabelMap& match = {}) const;

  // The sum of the values of Select(name, match); 0 when nothing matches.
  double Sum(std::string_view name, const LabelMap& match = {}) const;

  // The histogram `name` (samples name_bucket, name_sum, name_count, whatever
  // their family's declared type) summed over the series that carry every
  // label in `match`: e.g. over the versions of one model. Buckets whose `le`
  // is not a number, or is NaN, are skipped.
  HistogramSum SumHistogram(std::string_view name, const LabelMap& match = {}) const;
};

// Parses a whole exposition. InvalidArgument "line N: <what is wrong>" on the
// first malformed line.
absl::StatusOr<Exposition> ParsePrometheusText(std::string_view text);

// A series as written in the text format, without its value:
// `name` or `name{label="value",...}` (e.g. the argument of the integration
// tests' MetricValue).
struct Series {
  std::string name;
  LabelMap labels;
};
absl::StatusOr<Series> ParseSeries(std::string_view text);

// A sample value or `le` / `quantile` bound as the format writes it: a decimal
// float, +Inf, -Inf, Inf or NaN (any case). nullopt if it is not one.
std::optional<double> ParsePrometheusValue(std::string_view text);

}  // namespace tide::metrics
