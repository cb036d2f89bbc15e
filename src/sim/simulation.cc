#include "sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "autoscaler/controller.h"
#include "sim/cluster.h"
#include "sim/knative.h"
#include "sim/metrics_pipeline.h"
#include "sim/recorder.h"

namespace tide::sim {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Nanos RoundUpToSecond(Nanos t) {
  return (t + kNanosPerSecond - 1) / kNanosPerSecond * kNanosPerSecond;
}

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// The value the HPA acted on for one metric: utilization in percent when the
// target is a utilization, else the value (milli-units / 1000).
double SeenValue(const autoscaler::MetricStatus& m) {
  if (!m.valid) return kNaN;
  if (m.utilization) return *m.utilization;
  if (m.usage) return static_cast<double>(*m.usage) / 1000.0;
  if (m.raw_utilization) return static_cast<double>(*m.raw_utilization) / 1000.0;
  return kNaN;
}

class Run {
 public:
  Run(const SimOptions& options, const PolicySpec& policy)
      : options_(options),
        policy_(policy),
        recorder_(options.slo_latency, options.metrics.latency_buckets_s),
        cluster_(&options_, &events_, &recorder_),
        pipeline_(&options_, &cluster_, &recorder_) {}

  absl::Status Init() {
    int32_t initial = policy_.initial_replicas;
    switch (policy_.kind) {
      case PolicySpec::Kind::kFixed:
        initial = policy_.fixed_replicas;
        break;
      case PolicySpec::Kind::kHpa: {
        autoscaler::Controller::Options o;
        o.spec = policy_.hpa;
        o.config = options_.controller;
        o.target = &cluster_;
        o.metrics = &pipeline_;
        auto c = autoscaler::Controller::Create(std::move(o));
        if (!c.ok()) return c.status();
        controller_ = std::move(*c);
        if (initial <= 0) initial = controller_->spec().MinReplicasOrDefault();
        for (const autoscaler::MetricSpec& m : controller_->spec().metrics) {
          seen_names_.push_back(m.Describe());
        }
        break;
      }
      case PolicySpec::Kind::kKnative:
        knative_ = std::make_unique<KnativeScaler>(policy_.knative, &cluster_);
        if (initial <= 0) initial = policy_.knative.initial_scale;
        seen_names_ = {"stable concurrency per pod", "panic concurrency per pod"};
        cluster_.set_hold_when_unready(true);
        break;
    }
    seen_.assign(seen_names_.size(), kNaN);
    cluster_.StartReady(initial);
    // Scrapes are scheduled before the autoscaler, so at a shared instant
    // (every 15 s with the defaults) the autoscaler reads the fresh scrape.
    if (policy_.kind == PolicySpec::Kind::kHpa) {
      events_.Push(0, EventKind::kMetricsServer);
      events_.Push(0, EventKind::kPrometheus);
    }
    if (policy_.kind != PolicySpec::Kind::kFixed) events_.Push(0, EventKind::kControllerSync);
    next_tick_ = kNanosPerSecond;
    return absl::OkStatus();
  }

  PolicyResult Go(workload::ArrivalProcess* arrivals, const ProgressFn& progress) {
    end_ = options_.horizon;
    Nanos next_arrival = NextArrival(arrivals);
    Nanos next_progress = 0;
    while (true) {
      Nanos te = events_.NextTime();
      if (next_arrival == kNever && te == kNever && next_tick_ == kNever) break;
      // A second ends before anything else happens at its last instant, so
      // a row shows the state in [s, s+1), not what happens at s+1.
      if (next_tick_ <= te && next_tick_ <= next_arrival) {
        CloseCostIfPast(next_tick_);
        cluster_.set_now(next_tick_);
        Tick(next_tick_);
        Nanos next = next_tick_ + kNanosPerSecond;
        next_tick_ = Continues(next) && next_tick_ < end_ ? next : kNever;
        continue;
      }
      if (next_arrival != kNever && next_arrival < te) {
        // Arrivals go after the events of the same nanosecond.
        Nanos now = next_arrival;
        CloseCostIfPast(now);
        cluster_.set_now(now);
        ++arrivals_;
        ++second_arrivals_;
        cluster_.Route(now);
        next_arrival = NextArrival(arrivals);
        if (progress && now >= next_progress) {
          progress(Seconds(now));
          next_progress = now + 10 * kNanosPerSecond;
        }
        continue;
      }
      Event e = events_.Pop();
      CloseCostIfPast(e.time);
      cluster_.set_now(e.time);
      Handle(e);
    }
    CloseCostIfPast(kNever);
    if (progress) progress(Seconds(end_));
    return Result();
  }

 private:
  Nanos NextArrival(workload::ArrivalProcess* arrivals) {
    if (exhausted_) return kNever;
    std::optional<absl::Duration> d = arrivals->Next();
    Nanos t = d ? absl::ToInt64Nanoseconds(*d) : kNever;
    if (t < last_arrival_) t = last_arrival_;  // processes are non-decreasing
    if (t >= options_.horizon) t = kNever;
    if (t == kNever) {
      exhausted_ = true;
      if (end_ == kNever) end_ = std::max<Nanos>(RoundUpToSecond(last_arrival_), kNanosPerSecond);
      return kNever;
    }
    last_arrival_ = t;
    return t;
  }

  // Periodic events continue while arrivals may come, up to the end.
  bool Continues(Nanos next) const { return !exhausted_ || next <= end_; }

  void CloseCostIfPast(Nanos now) {
    if (cost_closed_ || end_ == kNever || now <= end_) return;
    cluster_.AccountUntil(end_);
    replica_seconds_ = cluster_.replica_seconds();
    cost_closed_ = true;
  }

  void Handle(const Event& e) {
    switch (e.kind) {
      case EventKind::kControllerSync: {
        Nanos next = kNever;
        if (controller_) {
          autoscaler::ReconcileResult r =
              controller_->RunOnce(absl::UnixEpoch() + absl::Nanoseconds(e.time));
          if (r.decision && r.decision->metrics_evaluated) {
            for (size_t i = 0; i < seen_.size() && i < r.decision->metrics.size(); ++i) {
              seen_[i] = SeenValue(r.decision->metrics[i]);
            }
          }
          next = absl::ToInt64Nanoseconds(*controller_->NextSyncTime() - absl::UnixEpoch());
        } else if (knative_) {
          knative_->Tick(e.time);
          seen_[0] = knative_->stable_concurrency();
          seen_[1] = knative_->panic_concurrency();
          next = e.time + policy_.knative.tick;
        }
        if (Continues(next)) events_.Push(next, EventKind::kControllerSync);
        break;
      }
      case EventKind::kMetricsServer: {
        pipeline_.ScrapeMetricsServer(e.time);
        Nanos next = e.time + options_.metrics.metrics_server_resolution;
        if (Continues(next)) events_.Push(next, EventKind::kMetricsServer);
        break;
      }
      case EventKind::kPrometheus: {
        pipeline_.ScrapePrometheus(e.time, arrivals_);
        Nanos next = e.time + options_.metrics.scrape_interval;
        if (Continues(next)) events_.Push(next, EventKind::kPrometheus);
        break;
      }
      default:
        cluster_.OnPodEvent(e);
        break;
    }
  }

  void Tick(Nanos now) {
    if (knative_) knative_->SampleSecond(now);
    workload::Histogram& h = recorder_.second_latency();
    TimelineRow row;
    row.second = now / kNanosPerSecond - 1;
    row.arrivals = second_arrivals_;
    row.completed = recorder_.completed() - last_completed_;
    uint64_t lost = recorder_.rejected() + recorder_.dropped();
    row.rejected = lost - last_lost_;
    row.desired = cluster_.desired();
    row.ready = cluster_.ready_count();
    row.replicas = cluster_.live_count();
    row.queued = cluster_.TotalQueued();
    row.p99_s = h.Count() > 0 ? static_cast<double>(h.Percentile(0.99)) / 1e9 : -1;
    row.seen = seen_;
    // SLO recovery: a missed second opens an episode, a met one closes it.
    bool missed = row.rejected > 0 || row.p99_s > Seconds(options_.slo_latency);
    bool met = !missed && row.completed > 0;
    if (missed && !miss_start_) miss_start_ = now - kNanosPerSecond;
    if (met && miss_start_) {
      slo_recovery_ = std::max(slo_recovery_, now - kNanosPerSecond - *miss_start_);
      miss_start_.reset();
    }
    if (options_.timeline) timeline_.push_back(std::move(row));
    h.Clear();
    second_arrivals_ = 0;
    last_completed_ = recorder_.completed();
    last_lost_ = lost;
  }

  PolicyResult Result() {
    PolicyResult r;
    r.name = policy_.name;
    r.requests = arrivals_;
    r.completed = recorder_.completed();
    r.rejected = recorder_.rejected() + recorder_.dropped();
    const workload::Histogram& h = recorder_.latency();
    r.latency_mean_s = h.Mean() / 1e9;
    r.latency_p50_s = Seconds(h.Percentile(0.50));
    r.latency_p95_s = Seconds(h.Percentile(0.95));
    r.latency_p99_s = Seconds(h.Percentile(0.99));
    r.latency_max_s = Seconds(h.Max());
    if (recorder_.started() > 0) {
      r.wait_mean_s = recorder_.wait_sum_ns() / 1e9 / static_cast<double>(recorder_.started());
      r.wait_p_positive =
          static_cast<double>(recorder_.waited()) / static_cast<double>(recorder_.started());
    }
    if (arrivals_ > 0) {
      r.slo_attainment =
          static_cast<double>(recorder_.within_slo()) / static_cast<double>(arrivals_);
      r.cost_per_million = replica_seconds_ * 1e6 / static_cast<double>(arrivals_);
    }
    r.duration_s = Seconds(end_);
    r.replica_seconds = replica_seconds_;
    r.replicas_mean = end_ > 0 ? replica_seconds_ / Seconds(end_) : 0;
    r.replicas_max = cluster_.max_live();
    r.scale_ups = cluster_.scale_ups();
    r.scale_downs = cluster_.scale_downs();
    r.slo_recovery_s = Seconds(slo_recovery_);
    if (miss_start_) r.slo_recovery_s = std::max(r.slo_recovery_s, Seconds(end_ - *miss_start_));
    r.batches = recorder_.batches();
    r.mean_batch_size = r.batches > 0 ? static_cast<double>(recorder_.batch_requests()) /
                                            static_cast<double>(r.batches)
                                      : 0;
    r.seen_names = seen_names_;
    r.timeline = std::move(timeline_);
    return r;
  }

  const SimOptions& options_;
  const PolicySpec& policy_;
  EventQueue events_;
  Recorder recorder_;
  Cluster cluster_;
  MetricsPipeline pipeline_;
  std::unique_ptr<autoscaler::Controller> controller_;
  std::unique_ptr<KnativeScaler> knative_;
  std::vector<std::string> seen_names_;
  std::vector<double> seen_;
  Nanos end_ = kNever;
  Nanos next_tick_ = kNever;
  Nanos last_arrival_ = 0;
  bool exhausted_ = false;
  bool cost_closed_ = false;
  double replica_seconds_ = 0;
  uint64_t arrivals_ = 0;
  uint64_t second_arrivals_ = 0;
  uint64_t last_completed_ = 0;
  uint64_t last_lost_ = 0;
  std::optional<Nanos> miss_start_;
  Nanos slo_recovery_ = 0;
  std::vector<TimelineRow> timeline_;
};

}  // namespace

absl::StatusOr<PolicyResult> Simulate(const SimOptions& options, const PolicySpec& policy,
                                      workload::ArrivalProcess* arrivals,
                                      const ProgressFn& progress) {
  Run run(options, policy);
  if (absl::Status s = run.Init(); !s.ok()) return s;
  return run.Go(arrivals, progress);
}

}  // namespace tide::sim
