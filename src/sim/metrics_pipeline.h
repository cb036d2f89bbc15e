#pragma once

// What the autoscaler sees, and when: the simulated counterpart of
// metrics-server, Prometheus and the Prometheus Adapter, as a
// autoscaler::MetricsSource.
//
// - CPU (Resource metric "cpu"): metrics-server scrapes every
//   `metrics_server_resolution`; a pod's sample is its CPU use averaged over
//   the window since the previous scrape (since its container started for
//   the first), timestamped at the scrape. The HPA reads the latest sample.
// - Pods metrics named like "*queue_depth*" (tide_inference_queue_depth): a
//   gauge per pod, as Prometheus scraped it every `scrape_interval`; "*inflight*"
//   or "*concurrency*": requests queued + running.
// - External/Object metrics named like "*p99*" (also p50/p90/p95, else 0.99):
//   histogram_quantile(q, sum by (le) (rate(bucket[rate_window]))) over the
//   deployment's latency buckets as scraped, `> 0 or vector(0)` as in
//   deploy/k8s/components/prometheus-adapter-rules; names like "*requests*":
//   sum(rate(requests[rate_window])) in requests per second.
// - Pods or External metrics named like "*gpu_util*" (tide_gpu_utilization_ratio,
//   0..1) or DCGM_FI_DEV_GPU_UTIL (percent): a simulated GPU per instance,
//   busy while a batch runs on it; a pod's value at a scrape is the share of
//   the time since its previous scrape that batches occupied its instances
//   (the adapter rule's avg by (pod) over its GPUs); External: the mean over
//   pods.
// Custom metrics are read as of `now - adapter_lag`. Anything else is left
// out, which the HPA treats as an unavailable metric (Supported() says which).

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "autoscaler/controller.h"
#include "sim/cluster.h"
#include "sim/recorder.h"
#include "sim/sim_options.h"

namespace tide::sim {

class MetricsPipeline final : public autoscaler::MetricsSource {
 public:
  MetricsPipeline(const SimOptions* options, const Cluster* cluster, const Recorder* recorder);

  // Scrape events (the Simulation schedules them).
  void ScrapeMetricsServer(Nanos now);
  void ScrapePrometheus(Nanos now, uint64_t arrivals_so_far);

  absl::Status Observe(const autoscaler::HpaSpec& spec, absl::Time now,
                       autoscaler::Snapshot* snapshot) override;

  // The quantile of the deployment's latency over the rate window ending at
  // the latest scrape at or before `t` (seconds; 0 when nothing completed).
  double LatencyQuantile(double q, Nanos t) const;

  // "" when the simulator can supply metric `m` of an HPA, else why not.
  static std::string Unsupported(const autoscaler::MetricSpec& m);

 private:
  struct CpuState {
    Nanos last_t = 0;
    Nanos last_cpu = 0;
    bool has_sample = false;
    Nanos sample_t = 0;
    int64_t sample_milli = 0;
  };
  struct Scrape {
    Nanos t = 0;
    std::vector<std::pair<uint32_t, std::pair<int64_t, int64_t>>>
        pods;                       // id -> (queued, outstanding)
    std::vector<uint64_t> buckets;  // deployment-wide, per bucket (not cumulative)
    uint64_t requests = 0;
    std::vector<std::pair<uint32_t, double>> gpu;  // id -> busy fraction since the last scrape
  };
  // The latest scrape at or before t, and the earliest one inside the rate
  // window ending there; null when there is none.
  const Scrape* LatestAt(Nanos t) const;
  const Scrape* WindowStart(Nanos end) const;

  const SimOptions* options_;
  const Cluster* cluster_;
  const Recorder* recorder_;
  absl::flat_hash_map<uint32_t, CpuState> cpu_;
  // Per pod: the previous Prometheus scrape's time and BusyNanos.
  absl::flat_hash_map<uint32_t, std::pair<Nanos, Nanos>> gpu_last_;
  std::deque<Scrape> scrapes_;
};

}  // namespace tide::sim
