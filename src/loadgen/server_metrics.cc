#include "loadgen/server_metrics.h"

#include <cmath>
#include <string>

#include "metrics/metric_names.h"

namespace tide::loadgen {
namespace {

metrics::HistogramSum DiffHistogram(const metrics::HistogramSum& a,
                                    const metrics::HistogramSum& b) {
  metrics::HistogramSum d;
  d.sum = b.sum - a.sum;
  d.count = b.count - a.count;
  for (const auto& [le, n] : b.buckets) {
    auto it = a.buckets.find(le);
    d.buckets[le] = n - (it == a.buckets.end() ? 0 : it->second);
  }
  return d;
}

double Mean(const metrics::HistogramSum& h) { return h.count > 0 ? h.sum / h.count : 0; }

}  // namespace

ServerCounters ExtractServerCounters(const metrics::Exposition& scrape, std::string_view model) {
  namespace names = metrics::names;
  ServerCounters c;
  if (!scrape.Select(names::kProcessCpuSecondsTotal).empty()) {
    c.process_cpu_seconds = scrape.Sum(names::kProcessCpuSecondsTotal);
  }
  const metrics::LabelMap of_model = {{"model", std::string(model)}};
  auto requests = [&](const char* outcome) {
    return scrape.Sum(names::kInferenceRequestsTotal,
                      {{"model", std::string(model)}, {"outcome", outcome}});
  };
  c.success = requests("success");
  c.failure = requests("failure");
  c.rejected = requests("rejected");
  c.inference_count = scrape.Sum(names::kInferenceCountTotal, of_model);
  c.executions = scrape.Sum(names::kInferenceExecutionsTotal, of_model);
  c.request_duration = scrape.SumHistogram(names::kInferenceRequestDurationSeconds, of_model);
  c.queue_duration = scrape.SumHistogram(names::kInferenceQueueDurationSeconds, of_model);
  c.compute_duration = scrape.SumHistogram(names::kInferenceComputeDurationSeconds, of_model);
  c.batch_size = scrape.SumHistogram(names::kInferenceBatchSize, of_model);
  return c;
}

double HistogramQuantile(const std::map<double, double>& cumulative, double q) {
  if (cumulative.empty()) return 0;
  const double total = cumulative.rbegin()->second;
  if (!(total > 0)) return 0;
  const double rank = q * total;
  double prev_le = 0, prev_count = 0;
  for (const auto& [le, count] : cumulative) {
    if (count >= rank) {
      if (std::isinf(le)) return prev_le;  // Prometheus: the highest finite bound
      if (count == prev_count) return le;
      return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count);
    }
    prev_le = le;
    prev_count = count;
  }
  return prev_le;
}

ServerBreakdown DiffServerCounters(const ServerCounters& a, const ServerCounters& b) {
  ServerBreakdown d;
  d.success = b.success - a.success;
  d.failure = b.failure - a.failure;
  d.rejected = b.rejected - a.rejected;
  d.executions = b.executions - a.executions;
  const double items = b.inference_count - a.inference_count;
  metrics::HistogramSum batch = DiffHistogram(a.batch_size, b.batch_size);
  if (d.executions > 0) {
    d.mean_batch_size = items / d.executions;
  } else if (batch.count > 0) {
    d.mean_batch_size = Mean(batch);
  }
  metrics::HistogramSum req = DiffHistogram(a.request_duration, b.request_duration);
  metrics::HistogramSum queue = DiffHistogram(a.queue_duration, b.queue_duration);
  metrics::HistogramSum compute = DiffHistogram(a.compute_duration, b.compute_duration);
  d.mean_request_s = Mean(req);
  d.mean_queue_s = Mean(queue);
  d.mean_compute_s = Mean(compute);
  d.p99_request_s = HistogramQuantile(req.buckets, 0.99);
  d.p99_queue_s = HistogramQuantile(queue.buckets, 0.99);
  d.p99_compute_s = HistogramQuantile(compute.buckets, 0.99);
  if (a.process_cpu_seconds && b.process_cpu_seconds) {
    d.cpu_s = *b.process_cpu_seconds - *a.process_cpu_seconds;
  }
  return d;
}

}  // namespace tide::loadgen
