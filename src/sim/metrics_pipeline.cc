#include "sim/metrics_pipeline.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tide::sim {
namespace {

absl::Time AsTime(Nanos t) { return absl::UnixEpoch() + absl::Nanoseconds(t); }

enum class Source { kNone, kCpu, kQueue, kOutstanding, kQuantile, kRequestRate, kGpu };

// dcgm-exporter's name for GPU utilization, in percent.
constexpr char kDcgmGpuUtil[] = "DCGM_FI_DEV_GPU_UTIL";

Source SourceOf(const std::string& type, const std::string& name) {
  if (type == "Resource" || type == "ContainerResource") {
    return name == "cpu" ? Source::kCpu : Source::kNone;
  }
  if ((type == "Pods" || type == "External") &&
      (absl::StrContains(name, "gpu_util") || name == kDcgmGpuUtil)) {
    return Source::kGpu;
  }
  if (type == "Pods") {
    if (absl::StrContains(name, "queue_depth")) return Source::kQueue;
    if (absl::StrContains(name, "inflight") || absl::StrContains(name, "in_flight") ||
        absl::StrContains(name, "concurrency")) {
      return Source::kOutstanding;
    }
    return Source::kNone;
  }
  if (type == "External" || type == "Object") {
    if (absl::StrContains(name, "p99") || absl::StrContains(name, "p95") ||
        absl::StrContains(name, "p90") || absl::StrContains(name, "p50") ||
        absl::StrContains(name, "duration") || absl::StrContains(name, "latency")) {
      return Source::kQuantile;
    }
    if (absl::StrContains(name, "requests")) return Source::kRequestRate;
  }
  return Source::kNone;
}

const std::string& NameOf(const autoscaler::MetricSpec& m) {
  static const std::string kEmpty;
  if (m.resource) return m.resource->name;
  if (m.container_resource) return m.container_resource->name;
  if (m.pods) return m.pods->metric.name;
  if (m.external) return m.external->metric.name;
  if (m.object) return m.object->metric.name;
  return kEmpty;
}

double QuantileOf(const std::string& name) {
  if (absl::StrContains(name, "p50")) return 0.5;
  if (absl::StrContains(name, "p90")) return 0.9;
  if (absl::StrContains(name, "p95")) return 0.95;
  return 0.99;
}

}  // namespace

MetricsPipeline::MetricsPipeline(const SimOptions* options, const Cluster* cluster,
                                 const Recorder* recorder)
    : options_(options), cluster_(cluster), recorder_(recorder) {}

std::string MetricsPipeline::Unsupported(const autoscaler::MetricSpec& m) {
  if (SourceOf(m.type, NameOf(m)) != Source::kNone) return "";
  return absl::StrCat(m.type, " metric '", NameOf(m),
                      "': tide sim supplies cpu, Pods *queue_depth* / *inflight*, "
                      "External/Object *p99* (p50/p90/p95) and *requests* rate, and Pods/External "
                      "GPU utilization (*gpu_util*, DCGM_FI_DEV_GPU_UTIL); the HPA will see it "
                      "as unavailable");
}

void MetricsPipeline::ScrapeMetricsServer(Nanos now) {
  absl::flat_hash_map<uint32_t, CpuState> next;
  for (const Pod* p : cluster_->live()) {
    if (p->state() == Pod::State::kPending) continue;
    CpuState s;
    auto it = cpu_.find(p->id());
    if (it != cpu_.end()) {
      s = it->second;
    } else {
      // First seen: its CPU since the container started (none before).
      s.last_t = std::max<Nanos>(p->started(), now - options_->metrics.metrics_server_resolution);
      s.last_cpu = 0;
    }
    Nanos cpu = p->CpuNanos(now);
    if (now > s.last_t) {
      double cores = static_cast<double>(cpu - s.last_cpu) / static_cast<double>(now - s.last_t);
      s.has_sample = true;
      s.sample_t = now;
      s.sample_milli = std::llround(cores * 1000);
    }
    s.last_t = now;
    s.last_cpu = cpu;
    next[p->id()] = s;
  }
  cpu_ = std::move(next);
}

void MetricsPipeline::ScrapePrometheus(Nanos now, uint64_t arrivals_so_far) {
  Scrape s;
  s.t = now;
  absl::flat_hash_map<uint32_t, std::pair<Nanos, Nanos>> next_gpu;
  for (const Pod* p : cluster_->live()) {
    if (p->state() == Pod::State::kPending) continue;
    s.pods.push_back({p->id(), {p->queued(), p->outstanding()}});
    // GPU utilization: the share of the time since the previous scrape (since
    // the pod started, for its first) that batches occupied its instances.
    auto last = gpu_last_.find(p->id());
    Nanos since = last != gpu_last_.end() ? last->second.first : p->started();
    Nanos busy_before = last != gpu_last_.end() ? last->second.second : 0;
    Nanos busy = p->BusyNanos(now);
    if (now > since) {
      s.gpu.push_back({p->id(), static_cast<double>(busy - busy_before) /
                                    (static_cast<double>(now - since) * p->instance_count())});
    }
    next_gpu[p->id()] = {now, busy};
  }
  gpu_last_ = std::move(next_gpu);
  s.buckets = recorder_->buckets();
  s.requests = arrivals_so_far;
  scrapes_.push_back(std::move(s));
  // Keep what a query at now - lag over the rate window can still need.
  Nanos keep = options_->metrics.rate_window + options_->metrics.adapter_lag +
               2 * options_->metrics.scrape_interval;
  while (scrapes_.size() > 2 && scrapes_.front().t < now - keep) scrapes_.pop_front();
}

const MetricsPipeline::Scrape* MetricsPipeline::LatestAt(Nanos t) const {
  for (auto it = scrapes_.rbegin(); it != scrapes_.rend(); ++it) {
    if (it->t <= t) return &*it;
  }
  return nullptr;
}

const MetricsPipeline::Scrape* MetricsPipeline::WindowStart(Nanos end) const {
  for (const Scrape& s : scrapes_) {
    if (s.t > end - options_->metrics.rate_window) return &s;
  }
  return nullptr;
}

double MetricsPipeline::LatencyQuantile(double q, Nanos t) const {
  const Scrape* last = LatestAt(t);
  if (last == nullptr) return 0;
  const Scrape* first = WindowStart(last->t);
  if (first == nullptr || first == last) return 0;
  const std::vector<Nanos>& bounds = recorder_->bucket_bounds();
  std::vector<double> cum(last->buckets.size());
  double total = 0;
  for (size_t i = 0; i < cum.size(); ++i) {
    total += static_cast<double>(last->buckets[i] - first->buckets[i]);
    cum[i] = total;
  }
  if (total <= 0 || bounds.empty()) return 0;  // NaN, then "> 0 or vector(0)"
  double rank = q * total;
  size_t i = 0;
  while (i < cum.size() && cum[i] < rank) ++i;
  if (i >= bounds.size()) return static_cast<double>(bounds.back()) / 1e9;
  double start = i == 0 ? 0 : static_cast<double>(bounds[i - 1]) / 1e9;
  double end = static_cast<double>(bounds[i]) / 1e9;
  double below = i == 0 ? 0 : cum[i - 1];
  double in_bucket = cum[i] - below;
  if (in_bucket <= 0) return end;
  return start + (end - start) * ((rank - below) / in_bucket);
}

absl::Status MetricsPipeline::Observe(const autoscaler::HpaSpec& spec, absl::Time now_time,
                                      autoscaler::Snapshot* snapshot) {
  Nanos now = absl::ToInt64Nanoseconds(now_time - absl::UnixEpoch());
  // The pod's one container, named as a ContainerResource metric asks.
  autoscaler::ContainerInfo container;
  container.name = "tide";
  for (const autoscaler::MetricSpec& m : spec.metrics) {
    if (m.container_resource) container.name = m.container_resource->container;
  }
  container.requests.push_back({"cpu", autoscaler::Quantity::FromMilli(
                                           std::llround(options_->pod.cpu_request_cores * 1000))});
  for (const Pod* p : cluster_->live()) {
    autoscaler::PodInfo info;
    info.name = p->name();
    info.phase = p->state() == Pod::State::kPending ? autoscaler::PodPhase::kPending
                                                    : autoscaler::PodPhase::kRunning;
    info.ready = p->state() == Pod::State::kReady;
    info.start_time = AsTime(p->created());
    info.ready_transition_time = AsTime(p->state() == Pod::State::kReady      ? p->ready_time()
                                        : p->state() == Pod::State::kDraining ? p->deleted()
                                                                              : p->created());
    info.deleting = p->state() == Pod::State::kDraining;
    info.containers.push_back(container);
    snapshot->pods.push_back(std::move(info));
  }
  Nanos custom_t = now - options_->metrics.adapter_lag;
  for (const autoscaler::MetricSpec& m : spec.metrics) {
    const std::string& name = NameOf(m);
    switch (SourceOf(m.type, name)) {
      case Source::kNone:
        break;
      case Source::kCpu: {
        autoscaler::PodSamples& samples = snapshot->metrics.pod_metrics["cpu"];
        for (const Pod* p : cluster_->live()) {
          auto it = cpu_.find(p->id());
          if (it == cpu_.end() || !it->second.has_sample) continue;
          samples[p->name()] =
              autoscaler::Sample{it->second.sample_milli, AsTime(it->second.sample_t),
                                 absl::Nanoseconds(options_->metrics.metrics_server_resolution)};
        }
        if (m.type == "ContainerResource") {
          auto& by_pod = snapshot->metrics.container_metrics["cpu"];
          for (const auto& [pod, sample] : samples) by_pod[pod][container.name] = sample;
        }
        break;
      }
      case Source::kQueue:
      case Source::kOutstanding: {
        autoscaler::PodSamples& samples = snapshot->metrics.pod_metrics[name];
        const Scrape* s = LatestAt(custom_t);
        if (s == nullptr) break;
        for (const auto& [id, values] : s->pods) {
          int64_t v = SourceOf(m.type, name) == Source::kQueue ? values.first : values.second;
          samples[absl::StrCat("tide-", id)] =
              autoscaler::Sample{v * 1000, AsTime(s->t), absl::Minutes(1)};
        }
        break;
      }
      case Source::kQuantile: {
        int64_t milli = std::llround(LatencyQuantile(QuantileOf(name), custom_t) * 1000);
        if (m.type == "External") {
          snapshot->metrics.external_metrics[name] = {milli};
        } else {
          snapshot->metrics.object_metrics[name] = milli;
        }
        break;
      }
      case Source::kGpu: {
        // Pods: each pod's busy fraction (the mean over its simulated GPUs);
        // External: the mean over pods. DCGM_FI_DEV_GPU_UTIL is in percent.
        const double scale = name == kDcgmGpuUtil ? 100.0 : 1.0;
        const Scrape* s = LatestAt(custom_t);
        if (s == nullptr || s->gpu.empty()) break;
        if (m.type == "Pods") {
          autoscaler::PodSamples& samples = snapshot->metrics.pod_metrics[name];
          for (const auto& [id, fraction] : s->gpu) {
            samples[absl::StrCat("tide-", id)] = autoscaler::Sample{
                std::llround(fraction * scale * 1000), AsTime(s->t), absl::Minutes(1)};
          }
        } else {
          double sum = 0;
          for (const auto& [id, fraction] : s->gpu) sum += fraction;
          snapshot->metrics.external_metrics[name] = {
              std::llround(sum / static_cast<double>(s->gpu.size()) * scale * 1000)};
        }
        break;
      }
      case Source::kRequestRate: {
        const Scrape* last = LatestAt(custom_t);
        const Scrape* first = last ? WindowStart(last->t) : nullptr;
        int64_t milli = 0;
        if (first != nullptr && first != last) {
          milli = std::llround(static_cast<double>(last->requests - first->requests) * 1000 /
                               (static_cast<double>(last->t - first->t) / 1e9));
        }
        if (m.type == "External") {
          snapshot->metrics.external_metrics[name] = {milli};
        } else {
          snapshot->metrics.object_metrics[name] = milli;
        }
        break;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace tide::sim
