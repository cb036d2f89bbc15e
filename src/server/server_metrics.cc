#include "server/server_metrics.h"

#include "common/status_mapping.h"
#include "metrics/metric_names.h"

namespace tide::server {

std::vector<double> BatchSizeBuckets() {
  return {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024};
}

ServerMetrics ServerMetrics::Register(metrics::Registry* r) {
  const std::vector<std::string> mv = {"model", "version"};
  ServerMetrics m;
  m.requests = r->AddCounter(metrics::names::kInferenceRequestsTotal,
                             "Inference requests by outcome: success, failure (accepted or "
                             "invalid, then failed) or rejected (queue full or draining: 503).",
                             {"model", "version", "outcome"});
  m.failures = r->AddCounter(metrics::names::kInferenceFailuresTotal,
                             "Failed or rejected inference requests by reason (status code).",
                             {"model", "version", "reason"});
  m.inferences = r->AddCounter(metrics::names::kInferenceCountTotal,
                               "Inferences performed: batch items (rows), not requests.", mv);
  m.executions = r->AddCounter(metrics::names::kInferenceExecutionsTotal,
                               "Batches executed by the model's instances.", mv);
  m.worker_spin = r->AddCounter(
      metrics::names::kWorkerSpinSecondsTotal,
      "CPU time the model's idle workers spent polling the queue before sleeping "
      "(TIDE_WORKER_SPIN_MICROSECONDS / --worker-spin-us); part of the process's CPU use.",
      mv);
  m.inline_runs =
      r->AddCounter(metrics::names::kInferenceInlineTotal,
                    "Requests run on the thread that received them instead of the model's worker "
                    "(inline execution: --inline-execute-max-us).",
                    mv);
  m.queue_depth =
      r->AddGauge(metrics::names::kInferenceQueueDepth,
                  "Requests waiting in the model's queue (pending, not executing).", mv);
  m.in_flight = r->AddGauge(metrics::names::kInferenceInFlight,
                            "Requests accepted and not yet answered (queued or executing).", mv);
  m.request_duration = r->AddHistogram(metrics::names::kInferenceRequestDurationSeconds,
                                       "Time from acceptance to response, in the server.", mv,
                                       metrics::LatencyBucketsSeconds());
  m.queue_duration = r->AddHistogram(metrics::names::kInferenceQueueDurationSeconds,
                                     "Time a request waited in the queue before execution.", mv,
                                     metrics::LatencyBucketsSeconds());
  m.compute_duration = r->AddHistogram(metrics::names::kInferenceComputeDurationSeconds,
                                       "Time from dispatch to completion (the batch's compute).",
                                       mv, metrics::LatencyBucketsSeconds());
  m.batch_size = r->AddHistogram(metrics::names::kInferenceBatchSize,
                                 "Rows in each executed batch.", mv, BatchSizeBuckets());
  m.model_ready =
      r->AddGauge(metrics::names::kModelReady, "1 if the model version is ready, else 0.", mv);
  m.model_memory = r->AddGauge(metrics::names::kModelMemoryBytes,
                               "Resident memory the model version added when it loaded.", mv);
  m.model_load_seconds = r->AddGauge(metrics::names::kModelLoadDurationSeconds,
                                     "Time the model version took to load and warm up.", mv);
  m.model_control = r->AddCounter(
      metrics::names::kModelControlRequestsTotal,
      "Model control requests (repository index, load, unload) by action and result: ok, or "
      "why it was refused (disabled, unauthenticated, permission_denied, invalid_name, "
      "not_found, unsupported, failed); loopback_trusted counts the requests let in without a "
      "token from 127.0.0.1/::1 (--model-control-trust-loopback), whose outcome is counted too.",
      {"action", "result"});
  m.http_responses =
      r->AddCounter(metrics::names::kHttpResponsesTotal,
                    "HTTP responses on the inference port by status code, including those "
                    "the transport answers itself (bad framing, limits, connection cap).",
                    {"code"});
  m.http_timeouts = r->AddCounter(
      metrics::names::kHttpTimeoutsTotal,
      "Inference-port connections closed by a deadline: idle (keep-alive expiry, no request "
      "begun), read (a request began but did not arrive within --read-timeout), write (a "
      "response made no progress for --read-timeout: a client that stopped reading), age "
      "(closed after a response for being older than --max-connection-age).",
      {"kind"});
  m.http_accept_errors = r->AddCounter(
      metrics::names::kHttpAcceptErrorsTotal,
      "Failed accepts on the inference port for want of descriptors or memory (EMFILE, ENFILE, "
      "ENOBUFS, ENOMEM); new connections wait in the listen backlog meanwhile.",
      {});
  return m;
}

MetricsObserver::MetricsObserver(const ServerMetrics& m, const std::string& model,
                                 const std::string& version)
    : m_(m), labels_{model, version} {
  success_ = m.requests->WithLabels({model, version, "success"});
  failure_ = m.requests->WithLabels({model, version, "failure"});
  rejected_ = m.requests->WithLabels({model, version, "rejected"});
  inferences_ = m.inferences->WithLabels(labels_);
  executions_ = m.executions->WithLabels(labels_);
  worker_spin_ = m.worker_spin->WithLabels(labels_);
  inline_runs_ = m.inline_runs->WithLabels(labels_);
  queue_depth_ = m.queue_depth->WithLabels(labels_);
  in_flight_ = m.in_flight->WithLabels(labels_);
  request_duration_ = m.request_duration->WithLabels(labels_);
  queue_duration_ = m.queue_duration->WithLabels(labels_);
  compute_duration_ = m.compute_duration->WithLabels(labels_);
  batch_size_ = m.batch_size->WithLabels(labels_);
}

void MetricsObserver::CountFailure(const absl::Status& status) {
  m_.failures->WithLabels({labels_[0], labels_[1], common::CodeLabel(status.code())})->Increment();
}

void MetricsObserver::OnRejected(const absl::Status& why) {
  if (why.code() == absl::StatusCode::kUnavailable) {
    rejected_->Increment();
  } else {
    failure_->Increment();
    fail_stat_.Add(1, absl::ZeroDuration());
  }
  CountFailure(why);
}

void MetricsObserver::OnEnqueued() {
  queue_depth_->Add(1);
  in_flight_->Add(1);
}

void MetricsObserver::OnDequeued() { queue_depth_->Add(-1); }

void MetricsObserver::OnSpin(absl::Duration spun) {
  worker_spin_->Increment(absl::ToDoubleSeconds(spun));
}

void MetricsObserver::OnInline() { inline_runs_->Increment(); }

void MetricsObserver::OnBatch(int64_t batch_size, int requests, const core::ExecuteTimings& t) {
  inferences_->Increment(static_cast<double>(batch_size));
  executions_->Increment();
  batch_size_->Observe(static_cast<double>(batch_size));
  inference_count_ += static_cast<uint64_t>(batch_size);
  ++execution_count_;
  input_stat_.Add(static_cast<uint64_t>(requests), t.input);
  infer_stat_.Add(static_cast<uint64_t>(requests), t.infer);
  output_stat_.Add(static_cast<uint64_t>(requests), t.output);
  auto ns = [](absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Nanoseconds(d)); };
  absl::MutexLock lock(&batch_mu_);
  core::BatchStatistics& b = batch_stats_[batch_size];
  b.batch_size = batch_size;
  ++b.compute_input_count;
  b.compute_input_ns += ns(t.input);
  ++b.compute_infer_count;
  b.compute_infer_ns += ns(t.infer);
  ++b.compute_output_count;
  b.compute_output_ns += ns(t.output);
}

void MetricsObserver::OnCompleted(const absl::Status& status, absl::Duration queue,
                                  absl::Duration total) {
  in_flight_->Add(-1);
  if (status.ok()) {
    success_->Increment();
    success_stat_.Add(1, total);
    queue_stat_.Add(1, queue);
  } else {
    failure_->Increment();
    fail_stat_.Add(1, total);
    CountFailure(status);
  }
  request_duration_->Observe(absl::ToDoubleSeconds(total));
  queue_duration_->Observe(absl::ToDoubleSeconds(queue));
  compute_duration_->Observe(absl::ToDoubleSeconds(total - queue));
  last_inference_ms_ = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
}

core::ModelStatistics MetricsObserver::Snapshot() const {
  core::ModelStatistics s;
  s.success_count = success_stat_.count;
  s.success_ns = success_stat_.ns;
  s.fail_count = fail_stat_.count;
  s.fail_ns = fail_stat_.ns;
  s.queue_count = queue_stat_.count;
  s.queue_ns = queue_stat_.ns;
  s.compute_input_count = input_stat_.count;
  s.compute_input_ns = input_stat_.ns;
  s.compute_infer_count = infer_stat_.count;
  s.compute_infer_ns = infer_stat_.ns;
  s.compute_output_count = output_stat_.count;
  s.compute_output_ns = output_stat_.ns;
  s.inference_count = inference_count_;
  s.execution_count = execution_count_;
  s.last_inference_ms = last_inference_ms_;
  absl::MutexLock lock(&batch_mu_);
  for (const auto& [size, b] : batch_stats_) s.batch_stats.push_back(b);
  return s;
}

}  // namespace tide::server
