#pragma once

// Counters, gauges and histograms with labels, held in a Registry that the
// caller creates and owns (no global registry: tests and the simulator make
// their own). Updating a metric is lock-free; looking up a labelled child
// takes a lock, so hot paths look children up once and keep the pointer
// (children are never destroyed while the registry lives).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace tide::metrics {

class Counter {
 public:
  void Increment(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds`: ascending upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0.0};
};

enum class Type { kCounter, kGauge, kHistogram };

// A named metric and its children, one per label-value tuple.
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::function<std::unique_ptr<T>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        make_(std::move(make)) {}

  // The child for these label values (created on first use). The values must
  // match the family's label names in number.
  T* WithLabels(const std::vector<std::string>& values) {
    absl::MutexLock lock(&mu_);
    auto& slot = children_[values];
    if (!slot) slot = make_();
    return slot.get();
  }
  T* NoLabels() { return WithLabels({}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }
  // Calls fn(label values, child) for each child, in label order.
  void ForEach(const std::function<void(const std::vector<std::string>&, const T&)>& fn) const {
    absl::MutexLock lock(&mu_);
    for (const auto& [values, child] : children_) fn(values, *child);
  }

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::function<std::unique_ptr<T>()> make_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

// A value computed when metrics are rendered (process CPU, memory, ...).
struct CallbackMetric {
  std::string name, help;
  Type type;
  std::function<double()> value;
};

// Labelled series computed when metrics are rendered, for sources that know
// their series only then (GPUs found by NVML, simulated devices). A family
// with no series is left out entirely (no HELP/TYPE lines either), so a
// source with nothing to report exports nothing.
struct CollectedSeries {
  std::vector<std::pair<std::string, std::string>> labels;  // name, value
  double value = 0;
};
struct CollectedFamily {
  std::string name, help;
  Type type = Type::kGauge;  // kCounter or kGauge
  std::vector<CollectedSeries> series;
};
using Collector = std::function<std::vector<CollectedFamily>()>;

class Registry {
 public:
  Family<Counter>* AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> labels = {});
  Family<Gauge>* AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> labels = {});
  Family<Histogram>* AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels, std::vector<double> bounds);
  void AddCallback(CallbackMetric metric);
  // Called on each render, in registration order with the other entries.
  void AddCollector(Collector collector);

  // Prometheus text exposition format 0.0.4, families in registration order.
  std::string RenderText() const;

 private:
  struct Entry {
    Type type;
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
    std::unique_ptr<CallbackMetric> callback;
    Collector collector;
  };
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// Latency buckets in seconds, from 0.5 ms to 10 s, fine enough (ratio ≤ 1.5)
// for a useful p99 anywhere from 1 ms to 10 s.
std::vector<double> LatencyBucketsSeconds();

}  // namespace tide::metrics
