#pragma once

// What a simulation measures while it runs: every request's latency and
// waiting time, the share within the SLO, batches, and the deployment-wide
// cumulative latency buckets that Prometheus would scrape. Pods report to it;
// the result is read at the end. Single-threaded.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "sim/event_queue.h"
#include "workload/histogram.h"

namespace tide::sim {

class Recorder {
 public:
  Recorder(Nanos slo, const std::vector<double>& buckets_s) : slo_(slo) {
    for (double b : buckets_s) bucket_bounds_.push_back(static_cast<Nanos>(b * 1e9 + 0.5));
    buckets_.assign(bucket_bounds_.size() + 1, 0);
  }

  // A batch of `count` requests (`rows` rows) started.
  void OnBatch(int64_t count, int64_t rows) {
    ++batches_;
    batch_requests_ += count;
    batch_rows_ += rows;
  }
  // A request started running after waiting `wait` in its pod's queue.
  void OnStart(Nanos wait) {
    wait_sum_ += wait;
    if (wait > 0) ++waited_;
    ++started_;
  }
  // A request completed `latency` after it arrived.
  void OnComplete(Nanos latency) {
    latency_.Record(latency);
    second_latency_.Record(latency);
    if (latency <= slo_) ++within_slo_;
    ++completed_;
    // Prometheus buckets are "le": the first bound >= latency.
    size_t i = static_cast<size_t>(
        std::lower_bound(bucket_bounds_.begin(), bucket_bounds_.end(), latency) -
        bucket_bounds_.begin());
    ++buckets_[i];
  }
  void OnRejected() { ++rejected_; }
  void OnDropped(int64_t n) { dropped_ += n; }

  const workload::Histogram& latency() const { return latency_; }
  workload::Histogram& second_latency() { return second_latency_; }
  const std::vector<Nanos>& bucket_bounds() const { return bucket_bounds_; }
  // Cumulative per bucket (not yet summed across buckets); last = +Inf.
  const std::vector<uint64_t>& buckets() const { return buckets_; }

  uint64_t completed() const { return completed_; }
  uint64_t rejected() const { return rejected_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t within_slo() const { return within_slo_; }
  uint64_t started() const { return started_; }
  uint64_t waited() const { return waited_; }
  double wait_sum_ns() const { return static_cast<double>(wait_sum_); }
  uint64_t batches() const { return batches_; }
  uint64_t batch_requests() const { return batch_requests_; }
  uint64_t batch_rows() const { return batch_rows_; }

 private:
  Nanos slo_;
  workload::Histogram latency_{workload::Histogram::kDefaultSubBits};
  workload::Histogram second_latency_{7};
  std::vector<Nanos> bucket_bounds_;
  std::vector<uint64_t> buckets_;
  uint64_t completed_ = 0, rejected_ = 0, dropped_ = 0, within_slo_ = 0;
  uint64_t started_ = 0, waited_ = 0;
  __int128 wait_sum_ = 0;
  uint64_t batches_ = 0, batch_requests_ = 0, batch_rows_ = 0;
};

}  // namespace tide::sim
