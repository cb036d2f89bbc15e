#include "metrics/metrics.h"

#include <algorithm>

namespace tide::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

Family<Counter>* Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  Entry e{Type::kCounter};
  e.counter = std::make_unique<Family<Counter>>(name, help, std::move(labels),
                                                [] { return std::make_unique<Counter>(); });
  entries_.push_back(std::move(e));
  return entries_.back().counter.get();
}

Family<Gauge>* Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  Entry e{Type::kGauge};
  e.gauge = std::make_unique<Family<Gauge>>(name, help, std::move(labels),
                                            [] { return std::make_unique<Gauge>(); });
  entries_.push_back(std::move(e));
  return entries_.back().gauge.get();
}

Family<Histogram>* Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> labels,
                                          std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  Entry e{Type::kHistogram};
  e.histogram = std::make_unique<Family<Histogram>>(
      name, help, std::move(labels), [bounds] { return std::make_unique<Histogram>(bounds); });
  entries_.push_back(std::move(e));
  return entries_.back().histogram.get();
}

void Registry::AddCallback(CallbackMetric metric) {
  absl::MutexLock lock(&mu_);
  Entry e{metric.type};
  e.callback = std::make_unique<CallbackMetric>(std::move(metric));
  entries_.push_back(std::move(e));
}

void Registry::AddCollector(Collector collector) {
  absl::MutexLock lock(&mu_);
  Entry e{Type::kGauge};
  e.collector = std::move(collector);
  entries_.push_back(std::move(e));
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015,
          0.02,   0.03,  0.04,   0.05,  0.075, 0.1,   0.15,  0.2,    0.3,  0.4,
          0.5,    0.75,  1.0,    1.5,   2.0,   3.0,   4.0,   5.0,    7.5,  10.0};
}

}  // namespace tide::metrics
