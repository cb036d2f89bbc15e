#pragma once

// The inference metrics tide serve exports (docs/metrics.md lists each one),
// and the RequestObserver that updates them for one model version along with
// Triton-style cumulative statistics.

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/observer.h"
#include "metrics/metrics.h"

namespace tide::server {

struct ServerMetrics {
  metrics::Family<metrics::Counter>*
      requests;  // tide_inference_requests_total{model,version,outcome}
  metrics::Family<metrics::Counter>*
      failures;  // tide_inference_failures_total{model,version,reason}
  metrics::Family<metrics::Counter>* inferences;          // tide_inference_count_total
  metrics::Family<metrics::Counter>* executions;          // tide_inference_executions_total
  metrics::Family<metrics::Counter>* worker_spin;         // tide_worker_spin_seconds_total
  metrics::Family<metrics::Counter>* inline_runs;         // tide_inference_inline_total
  metrics::Family<metrics::Gauge>* queue_depth;           // tide_inference_queue_depth
  metrics::Family<metrics::Gauge>* in_flight;             // tide_inference_in_flight
  metrics::Family<metrics::Histogram>* request_duration;  // tide_inference_request_duration_seconds
  metrics::Family<metrics::Histogram>* queue_duration;    // tide_inference_queue_duration_seconds
  metrics::Family<metrics::Histogram>* compute_duration;  // tide_inference_compute_duration_seconds
  metrics::Family<metrics::Histogram>* batch_size;        // tide_inference_batch_size
  metrics::Family<metrics::Gauge>* model_ready;           // tide_model_ready
  metrics::Family<metrics::Gauge>* model_memory;          // tide_model_memory_bytes
  metrics::Family<metrics::Gauge>* model_load_seconds;    // tide_model_load_duration_seconds
  metrics::Family<metrics::Counter>*
      model_control;  // tide_model_control_requests_total{action,result}
  metrics::Family<metrics::Counter>* http_responses;      // tide_http_responses_total{code}
  metrics::Family<metrics::Counter>* http_timeouts;       // tide_http_timeouts_total{kind}
  metrics::Family<metrics::Counter>* http_accept_errors;  // tide_http_accept_errors_total

  static ServerMetrics Register(metrics::Registry* registry);
};

// Batch-size buckets: 1, 2, 3, 4, 6, 8, 12, 16, ... up to 1024.
std::vector<double> BatchSizeBuckets();

class MetricsObserver final : public core::RequestObserver {
 public:
  MetricsObserver(const ServerMetrics& m, const std::string& model, const std::string& version);

  void OnRejected(const absl::Status& why) override;
  void OnEnqueued() override;
  void OnDequeued() override;
  void OnBatch(int64_t batch_size, int requests, const core::ExecuteTimings& timings) override;
  void OnCompleted(const absl::Status& status, absl::Duration queue, absl::Duration total) override;
  void OnSpin(absl::Duration spun) override;
  void OnInline() override;
  core::ModelStatistics Snapshot() const override;

 private:
  void CountFailure(const absl::Status& status);

  const ServerMetrics& m_;
  std::vector<std::string> labels_;
  metrics::Counter *success_, *failure_, *rejected_, *inferences_, *executions_, *worker_spin_,
      *inline_runs_;
  metrics::Gauge *queue_depth_, *in_flight_;
  metrics::Histogram *request_duration_, *queue_duration_, *compute_duration_, *batch_size_;

  struct Stat {
    std::atomic<uint64_t> count{0}, ns{0};
    void Add(uint64_t c, absl::Duration d) {
      count += c;
      ns += static_cast<uint64_t>(absl::ToInt64Nanoseconds(d)) * c;
    }
  };
  Stat success_stat_, fail_stat_, queue_stat_, input_stat_, infer_stat_, output_stat_;
  std::atomic<uint64_t> inference_count_{0}, execution_count_{0}, last_inference_ms_{0};
  mutable absl::Mutex batch_mu_;  // one lock per batch: batches are far rarer than requests
  std::map<int64_t, core::BatchStatistics> batch_stats_ ABSL_GUARDED_BY(batch_mu_);
};

}  // namespace tide::server
