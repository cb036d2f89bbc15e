#pragma once

// The server's side of a run, from two scrapes of its Prometheus /metrics
// (before and after): requests by outcome, queue vs compute time, batch
// sizes, server CPU. Pure: a parsed scrape in (metrics::ParsePrometheusText),
// numbers out. Metric names are tide's (metrics/metric_names.h,
// docs/metrics.md); series are summed over the versions of one model.

#include <map>
#include <optional>
#include <string_view>

#include "metrics/prometheus_parser.h"

namespace tide::loadgen {

// One model's counters at one instant.
struct ServerCounters {
  double success = 0, failure = 0, rejected = 0;
  double inference_count = 0;  // batch items
  double executions = 0;       // batches
  metrics::HistogramSum request_duration, queue_duration, compute_duration, batch_size;
  std::optional<double> process_cpu_seconds;
};

ServerCounters ExtractServerCounters(const metrics::Exposition& scrape, std::string_view model);

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
