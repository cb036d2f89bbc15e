#pragma once

// Knative's Pod Autoscaler (KPA), concurrency mode, as its autoscaler
// computes it (pkg/autoscaler/scaling/autoscaler.go): every tick, the average
// concurrency over the stable window (60 s) and the panic window (10 % of
// it, 6 s) gives desired = ceil(total concurrency / (target × utilization)),
// bounded by the max scale-up and scale-down rates. When the panic desire
// reaches panic-threshold × ready pods it panics: it scales on the panic
// window and never down, until a stable window passes without that
// condition. It scales to zero only after the grace period without traffic;
// while no pod is ready the activator (Cluster's hold) keeps requests.
//
// Concurrency is sampled once per simulated second (requests queued and
// running in the pods, plus those the activator holds).

#include <cstdint>
#include <deque>

#include "sim/cluster.h"
#include "sim/sim_options.h"

namespace tide::sim {

class KnativeScaler {
 public:
  KnativeScaler(const KnativeSpec& spec, Cluster* cluster) : spec_(spec), cluster_(cluster) {}

  void SampleSecond(Nanos now);
  void Tick(Nanos now);

  double stable_concurrency() const { return stable_per_pod_; }
  double panic_concurrency() const { return panic_per_pod_; }
  bool panicking() const { return panicking_; }

 private:
  double Average(size_t seconds) const;

  KnativeSpec spec_;
  Cluster* cluster_;
  std::deque<double> samples_;  // total concurrency, one per second, newest last
  bool panicking_ = false;
  Nanos panic_time_ = 0;
  int32_t max_panic_pods_ = 0;
  Nanos last_nonzero_ = 0;
  double stable_per_pod_ = 0;
  double panic_per_pod_ = 0;
};

}  // namespace tide::sim
