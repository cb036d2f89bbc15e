#pragma once

// The embedded metric source of `tide up` (`--metrics-source scrape`): what
// metrics-server and the Prometheus Adapter give a cluster's HPA, computed
// from each replica's own /metrics.
//
// Scrape(now) reads every listed pod's /metrics (every --scrape-interval, as
// a ServiceMonitor) and keeps the samples of the last `history` per pod.
// Observe() then gives the HPA controller, for the metrics its spec names:
//   Resource cpu: the rate of process_cpu_seconds_total between the newest
//     scrape and the newest one at least `cpu_window` older (metrics-server's
//     window), in milli-cores per pod (the controller divides by the
//     request);
//   Resource memory: process_resident_memory_bytes per pod;
//   Pods tide_inference_queue_depth / tide_inference_in_flight: the newest
//     gauge per pod, summed over the series the metric's selector matches
//     (e.g. over models);
//   Pods tide_gpu_utilization_ratio: the mean over the pod's GPUs (the
//     adapter rule's avg by (pod)); DCGM_FI_DEV_GPU_UTIL (an HPA written for
//     dcgm-exporter): the same in percent; External either: the mean over
//     every GPU of every pod;
//   External or Object tide_inference_request_duration_seconds_pNN: as the
//     adapter rule `histogram_quantile(0.NN, sum by (le) (rate(
//     tide_inference_request_duration_seconds_bucket{sel}[w]))) > 0 or
//     vector(0)` (0 when nothing was answered in the window);
//   External or Object tide_inference_queue_depth: the gauge summed over pods;
//   External or Object tide_inference_in_flight: the gauge summed over pods
//     plus the requests the router holds for want of a ready replica (the
//     signal that scales from zero, as the cluster's ingress request rate).
// A metric no pod exports (GPU utilization without a GPU) is simply missing,
// and the HPA treats it as Kubernetes does. A metric this source can never
// produce is refused before the fleet starts (CheckProducible).
//
// Thread safety: every method may be called from any thread (one mutex).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autoscaler/controller.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/quantity.h"
#include "fleet/fleet_pods.h"
#include "metrics/prometheus_parser.h"

namespace tide::fleet {

// The name of the GPU utilization gauge (0..1) a replica exports where it has
// a GPU (NVML). tide serve does not export it on CPU-only machines.
inline constexpr char kGpuUtilizationRatio[] = "tide_gpu_utilization_ratio";

// histogram_quantile(q, buckets) as Prometheus computes it (promql's
// bucketQuantile): `cumulative` maps each bucket's upper bound to its
// cumulative count and must hold +Inf. Linear interpolation inside the bucket
// where the rank q * count falls (from 0 for the first bucket if its bound is
// positive); the highest finite bound when the rank falls in +Inf. NaN when
// there is no +Inf bucket, fewer than two buckets, or no observation; -Inf
// for q < 0, +Inf for q > 1. Counts that decrease are raised to the previous
// one (monotonicity fix-up, as Prometheus does).
double HistogramQuantile(double q, const std::map<double, double>& cumulative);

// The quantile an External/Object metric name asks for:
// "tide_inference_request_duration_seconds_p99" → 0.99, "_p50" → 0.5,
// "_p999" → 0.999; nullopt for any other name.
std::optional<double> LatencyQuantileOf(std::string_view metric_name);

// OK when every metric of `spec` is one this source can produce; otherwise
// InvalidArgument naming each field and metric it cannot, and what it can.
absl::Status CheckProducible(const autoscaler::HpaSpec& spec);

// What one pod looked like at its last scrape (the live view).
struct PodScrapeView {
  std::string name;
  std::optional<double> cpu_cores;    // rate over the cpu window
  std::optional<double> queue_depth;  // summed over models
  std::optional<double> in_flight;
  std::optional<double> p50_seconds;  // over the latency window, this pod alone
  std::optional<double> p99_seconds;
  std::optional<double> request_rate;  // answered requests per second
  std::string last_error;              // of the last scrape; empty if it worked
};

class ScrapeMetricsSource : public autoscaler::MetricsSource {
 public:
  // The text of a pod's /metrics, or why not.
  using FetchFn = std::function<absl::StatusOr<std::string>(const FleetPod&)>;

  struct Options {
    PodLister pods;  // required
    // Default: GET http://127.0.0.1:<metrics_port>/metrics within fetch_timeout.
    FetchFn fetch;
    absl::Duration fetch_timeout = absl::Seconds(2);
    // Each pod's container "tide" requests this much CPU (--cpu-request).
    autoscaler::Quantity cpu_request = autoscaler::Quantity::FromMilli(500);
    absl::Duration cpu_window = absl::Seconds(15);     // metrics-server's
    absl::Duration latency_window = absl::Minutes(1);  // the adapter rule's [1m]
    // Requests the router holds while no replica is ready (the activator's
    // buffer), added to External tide_inference_in_flight; null: none.
    std::function<double()> held_requests;
  };

  static absl::StatusOr<std::unique_ptr<ScrapeMetricsSource>> Create(Options options);

  // Scrapes every listed pod that has a metrics port. A pod whose scrape
  // fails keeps its history (its samples just age); a pod no longer listed,
  // or restarted (another process start time), loses it. Returns how many
  // pods were scraped successfully.
  int Scrape(absl::Time now);

  absl::Status Observe(const autoscaler::HpaSpec& spec, absl::Time now,
                       autoscaler::Snapshot* snapshot) override;

  std::vector<PodScrapeView> View() const;

 private:
  struct Point {
    absl::Time time;
    metrics::Exposition exposition;  // only the families this source reads
  };
  struct PodHistory {
    std::optional<absl::Time> pod_start;
    std::optional<double> process_start;
    std::deque<Point> points;  // oldest first
    std::string last_error;
  };

  explicit ScrapeMetricsSource(Options options) : options_(std::move(options)) {}

  // The newest point and the one to take a rate from (the newest at least
  // `window` older, else the oldest); nullptr when fewer than two points.
  static std::pair<const Point*, const Point*> RatePair(const PodHistory& h, absl::Duration window);

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, PodHistory> pods_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tide::fleet
