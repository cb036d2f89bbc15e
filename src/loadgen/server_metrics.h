#pragma once

// The server's side of a run, from two scrapes of its Prometheus /metrics
// (before and after): requests by outcome, queue vs compute time, batch
// sizes, server CPU. Pure: text in, numbers out. Metric names are tide's
// (docs/metrics.md); series are summed over the versions of one model.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::loadgen {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the Prometheus text exposition format (0.0.4). Comments and blank
// lines are skipped; InvalidArgument names a malformed line.
absl::StatusOr<std::vector<PromSample>> ParsePrometheusText(std::string_view text);

// A Prometheus histogram's cumulative buckets (le -> count), sum and count.
struct PromHistogram {
  std::map<double, double> buckets;
  double sum = 0;
  double count = 0;
};

// One model's counters at one instant.
struct ServerCounters {
  double success = 0, failure = 0, rejected = 0;
  double inference_count = 0;  // batch items
  double executions = 0;       // batches
  PromHistogram request_duration, queue_duration, compute_duration, batch_size;
  std::optional<double> process_cpu_seconds;
};

ServerCounters ExtractServerCounters(const std::vector<PromSample>& samples,
                                     std::string_view model);

// What happened on the server between two scrapes.
struct ServerBreakdown {
  double success = 0, failure = 0, rejected = 0;
  double executions = 0;
  double mean_batch_size = 0;  // items per execution
  double mean_request_s = 0, mean_queue_s = 0, mean_compute_s = 0;
  double p99_request_s = 0, p99_queue_s = 0, p99_compute_s = 0;  // bucket interpolation
  std::optional<double> cpu_s;
};

ServerBreakdown DiffServerCounters(const ServerCounters& before, const ServerCounters& after);

// Prometheus' histogram_quantile over cumulative buckets: linear
// interpolation inside the bucket holding the rank. 0 when empty.
double HistogramQuantile(const std::map<double, double>& cumulative, double q);

}  // namespace tide::loadgen
