#include "sim/pod.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tide::sim {
namespace {

absl::Time AsTime(Nanos t) { return absl::UnixEpoch() + absl::Nanoseconds(t); }

}  // namespace

Pod::Pod(uint32_t id, const PodSpec* spec, uint64_t seed, Nanos created)
    : id_(id), name_(absl::StrCat("tide-", id)), spec_(spec), created_(created) {
  int n = std::max(1, spec->instances);
  instances_.reserve(n);
  for (int i = 0; i < n; ++i) {
    instances_.push_back(
        Instance{false, 0, {}, backends::ServiceTimeModel(spec->service, seed + i)});
  }
  free_instances_ = n;
}

bool Pod::Enqueue(Nanos arrival) {
  if (static_cast<int64_t>(queue_.size()) >= spec_->max_queue_size) return false;
  queue_.push_back(arrival);
  return true;
}

void Pod::Pump(Nanos now, EventQueue* events, Recorder* recorder) {
  if (state_ == State::kGone) return;
  while (free_instances_ > 0 && !queue_.empty()) {
    // The policy needs at most max_batch_size + 1 entries of the head.
    size_t look = std::min<size_t>(
        queue_.size(), static_cast<size_t>(std::max(spec_->batching.max_batch_size, 1)) + 1);
    head_.clear();
    for (size_t i = 0; i < look; ++i) {
      head_.push_back(batching::QueuedItem{1, std::string_view(), AsTime(queue_[i])});
    }
    batching::BatchDecision d = batching::DecideBatch(spec_->batching, head_, AsTime(now));
    if (d.kind == batching::BatchDecision::Kind::kWait) {
      Nanos due = absl::ToInt64Nanoseconds(d.wait_until - absl::UnixEpoch());
      if (due < timer_) {
        timer_ = due;
        events->Push(due, EventKind::kBatchTimer, id_);
      }
      return;
    }
    if (d.kind != batching::BatchDecision::Kind::kDispatch || d.count == 0) return;
    uint32_t which = 0;
    while (instances_[which].busy) ++which;
    Instance& inst = instances_[which];
    inst.busy = true;
    inst.batch_start = now;
    inst.arrivals.clear();
    for (size_t i = 0; i < d.count; ++i) {
      Nanos arrival = queue_.front();
      queue_.pop_front();
      inst.arrivals.push_back(arrival);
      recorder->OnStart(now - arrival);
    }
    recorder->OnBatch(static_cast<int64_t>(d.count), d.rows);
    --free_instances_;
    running_ += static_cast<int64_t>(d.count);
    Nanos service =
        spec_->profile
            ? inst.service.SampleNanosWithMean(spec_->profile->MeanMs(static_cast<double>(d.rows)))
            : inst.service.SampleNanos(d.rows);
    events->Push(now + service, EventKind::kBatchDone, id_, which);
  }
}

void Pod::CompleteBatch(uint32_t instance, Nanos now, EventQueue* events, Recorder* recorder) {
  Instance& inst = instances_[instance];
  if (!inst.busy) return;
  for (Nanos arrival : inst.arrivals) recorder->OnComplete(now - arrival);
  running_ -= static_cast<int64_t>(inst.arrivals.size());
  inst.arrivals.clear();
  inst.busy = false;
  if (spec_->burns_cpu) cpu_done_ += now - inst.batch_start;
  busy_done_ += now - inst.batch_start;
  ++free_instances_;
  Pump(now, events, recorder);
}

void Pod::OnTimer(Nanos now, EventQueue* events, Recorder* recorder) {
  if (now != timer_) return;  // superseded by an earlier timer
  timer_ = kNever;
  Pump(now, events, recorder);
}

int64_t Pod::Kill() {
  int64_t lost = queued() + running_;
  queue_.clear();
  for (Instance& inst : instances_) {
    inst.busy = false;
    inst.arrivals.clear();
  }
  running_ = 0;
  state_ = State::kGone;
  return lost;
}

Nanos Pod::CpuNanos(Nanos now) const {
  Nanos total = cpu_done_;
  if (spec_->burns_cpu) {
    for (const Instance& inst : instances_) {
      if (inst.busy) total += now - inst.batch_start;
    }
  }
  return total;
}

Nanos Pod::BusyNanos(Nanos now) const {
  Nanos total = busy_done_;
  for (const Instance& inst : instances_) {
    if (inst.busy) total += now - inst.batch_start;
  }
  return total;
}

}  // namespace tide::sim
