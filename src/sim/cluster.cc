#include "sim/cluster.h"

#include <algorithm>
#include <cmath>

namespace tide::sim {
namespace {

// A seed per stream, so that changing one stream's use never shifts another's.
uint64_t Mix(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// ReplicaSet's deletion order (controller.ActivePodsWithRanks): pending before
// running, not ready before ready, ready for less time before more, newer
// before older. Pods here share one node class, cost and restart count.
int Rank(const Pod* p) {
  switch (p->state()) {
    case Pod::State::kPending:
      return 0;
    case Pod::State::kStarting:
      return 1;
    default:
      return 2;
  }
}

}  // namespace

Cluster::Cluster(const SimOptions* options, EventQueue* events, Recorder* recorder)
    : options_(options),
      events_(events),
      recorder_(recorder),
      rng_(Mix(options->seed, 1)),
      startup_rng_(Mix(options->seed, 2)) {}

Pod* Cluster::Create(Nanos created) {
  uint32_t id = static_cast<uint32_t>(pods_.size());
  pods_.push_back(
      std::make_unique<Pod>(id, &options_->pod, Mix(options_->seed, 1000 + id), created));
  Pod* p = pods_.back().get();
  AccountUntil(created);
  live_.push_back(p);
  ++active_;
  max_live_ = std::max(max_live_, live_count());
  return p;
}

void Cluster::StartReady(int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    Pod* p = Create(-3600 * kNanosPerSecond);  // paid for from time 0 on
    p->set_state(Pod::State::kReady);
    p->set_started(-3600 * kNanosPerSecond);
    p->set_ready_time(-3600 * kNanosPerSecond);
  }
  desired_ = n;
  RebuildReady();
}

void Cluster::RebuildReady() {
  ready_.clear();
  for (Pod* p : live_) {
    if (p->state() == Pod::State::kReady) ready_.push_back(p);
  }
}

Pod* Cluster::Pick() {
  size_t n = ready_.size();
  if (n == 1) return ready_[0];
  switch (options_->cluster.balance) {
    case Balance::kRandom:
      return ready_[std::uniform_int_distribution<size_t>(0, n - 1)(rng_)];
    case Balance::kRoundRobin:
      return ready_[round_robin_++ % n];
    case Balance::kLeastOutstanding: {
      size_t a = std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
      size_t b = std::uniform_int_distribution<size_t>(0, n - 2)(rng_);
      if (b >= a) ++b;
      return ready_[a]->outstanding() <= ready_[b]->outstanding() ? ready_[a] : ready_[b];
    }
  }
  return ready_[0];
}

void Cluster::Route(Nanos now) {
  if (hold_ && (ready_.empty() || !held_.empty())) {
    held_.push_back(now);  // behind those already held: first come, first served
    FlushHeld(now);
    return;
  }
  if (ready_.empty()) {
    recorder_->OnRejected();
    return;
  }
  Pod* p = Pick();
  if (!p->Enqueue(now)) {
    recorder_->OnRejected();
    return;
  }
  p->Pump(now, events_, recorder_);
}

void Cluster::FlushHeld(Nanos now) {
  while (!held_.empty() && !ready_.empty()) {
    // The activator sends to the ready pod with the most room.
    Pod* best = ready_[0];
    for (Pod* p : ready_) {
      if (p->queued() < best->queued()) best = p;
    }
    if (!best->Enqueue(held_.front())) return;  // every queue is full: keep holding
    held_.pop_front();
    best->Pump(now, events_, recorder_);
  }
}

void Cluster::OnPodEvent(const Event& e) {
  if (e.pod >= pods_.size() || pods_[e.pod] == nullptr) return;  // gone
  Pod* p = pods_[e.pod].get();
  switch (e.kind) {
    case EventKind::kBatchDone:
      p->CompleteBatch(e.arg, e.time, events_, recorder_);
      if (p->state() == Pod::State::kDraining && p->idle()) Remove(p);
      if (!held_.empty()) FlushHeld(e.time);
      break;
    case EventKind::kBatchTimer:
      p->OnTimer(e.time, events_, recorder_);
      break;
    case EventKind::kPodStarted:
      if (p->state() == Pod::State::kPending) {
        p->set_state(Pod::State::kStarting);
        p->set_started(e.time);
      }
      break;
    case EventKind::kPodReady:
      if (p->state() == Pod::State::kStarting) {
        p->set_state(Pod::State::kReady);
        p->set_ready_time(e.time);
        RebuildReady();
        FlushHeld(e.time);
      }
      break;
    case EventKind::kDrainDeadline:
      if (p->state() == Pod::State::kDraining) {
        recorder_->OnDropped(p->Kill());
        Remove(p);
      }
      break;
    default:
      break;
  }
}

absl::StatusOr<autoscaler::ScaleState> Cluster::GetScale() {
  return autoscaler::ScaleState{desired_, active_};
}

absl::Status Cluster::SetReplicas(int32_t replicas) {
  if (replicas > desired_) ++scale_ups_;
  if (replicas < desired_) ++scale_downs_;
  desired_ = replicas;
  while (active_ < desired_) {
    Pod* p = Create(now_);
    Nanos started = now_ + static_cast<Nanos>(std::llround(
                               options_->cluster.startup.SampleSeconds(startup_rng_) * 1e9));
    events_->Push(started, EventKind::kPodStarted, p->id());
    events_->Push(started + options_->cluster.readiness_delay, EventKind::kPodReady, p->id());
  }
  if (active_ > desired_) {
    std::vector<Pod*> candidates;
    for (Pod* p : live_) {
      if (p->state() != Pod::State::kDraining) candidates.push_back(p);
    }
    std::stable_sort(candidates.begin(), candidates.end(), [](const Pod* a, const Pod* b) {
      if (Rank(a) != Rank(b)) return Rank(a) < Rank(b);
      if (a->ready_time() != b->ready_time()) return a->ready_time() > b->ready_time();
      return a->id() > b->id();
    });
    for (int32_t i = 0, n = active_ - desired_; i < n; ++i) Delete(candidates[i]);
    RebuildReady();
  }
  return absl::OkStatus();
}

void Cluster::Delete(Pod* p) {
  --active_;
  p->set_deleted(now_);
  if (p->state() != Pod::State::kReady || p->idle()) {
    recorder_->OnDropped(p->Kill());
    Remove(p);
    return;
  }
  p->set_state(Pod::State::kDraining);
  events_->Push(now_ + options_->cluster.termination_grace, EventKind::kDrainDeadline, p->id());
}

void Cluster::Remove(Pod* p) {
  AccountUntil(now_ > accounted_until_ ? now_ : accounted_until_);
  p->set_state(Pod::State::kGone);
  live_.erase(std::find(live_.begin(), live_.end(), p));
  pods_[p->id()].reset();
}

void Cluster::AccountUntil(Nanos now) {
  if (now > accounted_until_) {
    replica_ns_ += static_cast<__int128>(live_.size()) * (now - accounted_until_);
    accounted_until_ = now;
  }
}

int64_t Cluster::TotalQueued() const {
  int64_t n = 0;
  for (const Pod* p : live_) n += p->queued();
  return n;
}

int64_t Cluster::TotalOutstanding() const {
  int64_t n = 0;
  for (const Pod* p : live_) n += p->outstanding();
  return n;
}

}  // namespace tide::sim
