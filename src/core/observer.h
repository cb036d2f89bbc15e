#pragma once

// Instrumentation hooks the request path calls; the server implements them
// with Prometheus metrics and Triton-style statistics. Instrumentation is not
// exposition: nothing here knows how numbers are rendered.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/model_instance.h"

namespace tide::core {

// Cumulative statistics of the executions of one batch size (rows): each
// count is the number of executions, each ns their summed duration.
struct BatchStatistics {
  int64_t batch_size = 0;
  uint64_t compute_input_count = 0, compute_input_ns = 0;
  uint64_t compute_infer_count = 0, compute_infer_ns = 0;
  uint64_t compute_output_count = 0, compute_output_ns = 0;

  bool operator==(const BatchStatistics&) const = default;
};

// Cumulative statistics of one model version (Triton's statistics extension).
struct ModelStatistics {
  uint64_t success_count = 0, success_ns = 0;
  uint64_t fail_count = 0, fail_ns = 0;
  uint64_t queue_count = 0, queue_ns = 0;
  uint64_t compute_input_count = 0, compute_input_ns = 0;
  uint64_t compute_infer_count = 0, compute_infer_ns = 0;
  uint64_t compute_output_count = 0, compute_output_ns = 0;
  uint64_t inference_count = 0;              // batch items
  uint64_t execution_count = 0;              // batches
  uint64_t last_inference_ms = 0;            // Unix ms of the last completed request
  std::vector<BatchStatistics> batch_stats;  // one per executed batch size, ascending
};

// Thread-safe; called from frontend and worker threads.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // A request was refused before queueing (queue full, draining, bad input).
  virtual void OnRejected(const absl::Status& why) = 0;
  // A request entered / left the queue (dequeued to run, timed out or
  // cancelled). Called under the scheduler's queue lock, with the push or pop
  // they count, so a depth kept from them is exact: they must be quick and
  // must not call back into the scheduler.
  virtual void OnEnqueued() = 0;
  virtual void OnDequeued() = 0;
  // One batch of `batch_size` rows over `requests` requests ran.
  virtual void OnBatch(int64_t batch_size, int requests, const ExecuteTimings& timings) = 0;
  // A queued request finished (OK or not) after `queue` waiting and `total`
  // in the server; compute = total - queue.
  virtual void OnCompleted(const absl::Status& status, absl::Duration queue,
                           absl::Duration total) = 0;
  // An idle worker polled its queue for `spun` before it found work or slept.
  virtual void OnSpin(absl::Duration spun) { (void)spun; }
  // A request runs on the thread that received it (inline execution), not on
  // the model's worker; its other events follow as for any request.
  virtual void OnInline() {}
  virtual ModelStatistics Snapshot() const = 0;
};

}  // namespace tide::core
