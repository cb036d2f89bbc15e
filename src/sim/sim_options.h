#pragma once

// What one simulation is made of: a pod (replica) model, the cluster around
// it, the metrics pipeline the autoscaler reads through, and the policy that
// scales it. Plain values; every default is documented in docs/simulator.md
// with its source.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autoscaler/hpa_spec.h"
#include "autoscaler/snapshot.h"
#include "backends/simulated/service_time.h"
#include "batching/batch_policy.h"
#include "sim/distribution.h"
#include "sim/event_queue.h"
#include "sim/profile.h"

namespace tide::sim {

// One replica: what config.pbtxt and the simulated backend's parameters say.
struct PodSpec {
  int instances = 1;                     // instance_group count
  batching::BatchPolicyConfig batching;  // the server's own batch policy
  int64_t max_queue_size = 256;          // requests waiting (not running) before refusal
  backends::ServiceTimeParams service;   // the simulated backend's service-time model
  // A measured batch-size → mean service time (--profile); when set, it
  // replaces compute_ms + per_item_ms × rows as the mean of each draw.
  std::optional<ServiceProfile> profile;
  bool burns_cpu = true;           // mode cpu: a running batch uses one core
  double cpu_request_cores = 1.0;  // resources.requests.cpu
};

enum class Balance { kRandom, kRoundRobin, kLeastOutstanding };

// The Deployment/ReplicaSet and the Service in front of it.
struct ClusterSpec {
  Balance balance = Balance::kRandom;  // kube-proxy (iptables mode) picks an endpoint at random
  DurationDistribution startup;        // scheduling + image pull + model load (Pending)
  Nanos readiness_delay = 0;           // Running, not yet Ready
  Nanos termination_grace = 30 * kNanosPerSecond;  // terminationGracePeriodSeconds
};

// The delays between what happens in the pods and what the autoscaler sees.
struct MetricsSpec {
  Nanos metrics_server_resolution = 15 * kNanosPerSecond;  // metrics-server --metric-resolution
  Nanos scrape_interval = 15 * kNanosPerSecond;            // Prometheus scrape interval
  Nanos rate_window = 60 * kNanosPerSecond;                // rate(...[1m]) in the adapter rule
  Nanos adapter_lag = 0;                                   // extra staleness of custom metrics
  // Upper bounds (seconds) of the server's latency histogram buckets
  // (tide_inference_request_duration_seconds), ascending.
  std::vector<double> latency_buckets_s;
};

// Knative's KPA (docs/simulator.md: defaults from Knative's config-autoscaler).
struct KnativeSpec {
  double target_concurrency = 100;  // container-concurrency-target-default
  double target_utilization = 0.7;  // container-concurrency-target-percentage
  Nanos stable_window = 60 * kNanosPerSecond;
  double panic_window_percentage = 10;  // of the stable window: 6 s
  double panic_threshold = 2.0;         // panic-threshold-percentage 200
  double max_scale_up_rate = 1000;
  double max_scale_down_rate = 2;
  Nanos scale_to_zero_grace = 30 * kNanosPerSecond;
  Nanos tick = 2 * kNanosPerSecond;
  int32_t min_scale = 0;
  int32_t max_scale = 0;  // 0: unbounded
  int32_t initial_scale = 1;
};

struct PolicySpec {
  enum class Kind { kFixed, kHpa, kKnative };
  Kind kind = Kind::kFixed;
  std::string name;
  int32_t fixed_replicas = 1;
  autoscaler::HpaSpec hpa;  // as parsed (the Controller validates and defaults it)
  KnativeSpec knative;
  // Replicas at time 0, ready (an already running Deployment). HPA: minReplicas when 0.
  int32_t initial_replicas = 0;
};

struct SimOptions {
  PodSpec pod;
  ClusterSpec cluster;
  MetricsSpec metrics;
  autoscaler::ControllerConfig controller;  // sync period, tolerance, windows
  Nanos slo_latency = 500'000'000;
  // Arrivals at or after this time are not simulated; kNever: until the
  // arrival process ends.
  Nanos horizon = kNever;
  uint64_t seed = 1;
  bool timeline = true;  // keep the per-second timeline
};

}  // namespace tide::sim
