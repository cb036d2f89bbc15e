// One HPA decision over 100 pods and 5 metrics (cpu utilization, memory
// average value, a Pods metric, an Object and an External metric), on the
// behavior path and on the legacy path. The baseline builds the per-metric
// sample map alone, the part of a decision no implementation can skip.
//
//   ninja -C build hpa_decide_bench
//   ./build/bench/hpa_decide_bench --benchmark_repetitions=10
//   --benchmark_report_aggregates_only=true

#include <string>

#include "autoscaler/decision.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/replica_calculator.h"
#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"

namespace tide::autoscaler {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

HpaSpec MakeSpec(bool behavior) {
  std::string text = R"({"minReplicas": 2, "maxReplicas": 500, "metrics": [
    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "512Mi"}}},
    {"type": "Pods", "pods": {"metric": {"name": "queue_depth"}, "target": {"type": "AverageValue", "averageValue": "4"}}},
    {"type": "Object", "object": {"metric": {"name": "rps"}, "describedObject": {"kind": "Service", "name": "s"},
      "target": {"type": "Value", "value": "2k"}}},
    {"type": "External", "external": {"metric": {"name": "lag"}, "target": {"type": "AverageValue", "averageValue": "30"}}}]})";
  nlohmann::json j = nlohmann::json::parse(text);
  if (behavior)
    j["behavior"] = nlohmann::json::parse(R"({"scaleDown": {"stabilizationWindowSeconds": 300}})");
  HpaSpec spec = *HpaSpecFromJson(j);
  ApplyDefaults(&spec);
  return spec;
}

Snapshot MakeSnapshot() {
  Snapshot s;
  s.current_replicas = 100;
  s.status_replicas = 100;
  for (int i = 0; i < 100; ++i) {
    PodInfo p;
    p.name = "tide-7d9f8c6b5-" + std::to_string(10000 + i);
    p.ready = true;
    p.start_time = kNow - absl::Minutes(30);
    p.ready_transition_time = kNow - absl::Minutes(29);
    p.containers.push_back(
        {"server", {{"cpu", *Quantity::Parse("500m")}, {"memory", *Quantity::Parse("1Gi")}}, ""});
    s.pods.push_back(std::move(p));
    const std::string& name = s.pods.back().name;
    s.metrics.pod_metrics["cpu"][name] =
        Sample{300 + i, kNow - absl::Seconds(10), absl::Seconds(30)};
    s.metrics.pod_metrics["memory"][name] =
        Sample{int64_t{600} * 1024 * 1024 * 1000, kNow, absl::Seconds(30)};
    s.metrics.pod_metrics["queue_depth"][name] = Sample{5000 + 10 * i, kNow, absl::Minutes(1)};
  }
  s.metrics.object_metrics["rps"] = 180000000;
  s.metrics.external_metrics["lag"] = {3000000, 1200000};
  return s;
}

History MakeHistory() {
  History h;
  h.initialized = true;
  for (int i = 0; i < 20; ++i)
    h.recommendations.push_back({kNow - absl::Seconds(15 * (i + 1)), 100});
  h.scale_up_events = {{kNow - absl::Seconds(40), 10}};
  h.scale_down_events = {{kNow - absl::Seconds(400), 5}};
  return h;
}

void BM_Decide(benchmark::State& state, bool behavior) {
  const HpaSpec spec = MakeSpec(behavior);
  const Snapshot snapshot = MakeSnapshot();
  const ControllerConfig config;
  const History initial = MakeHistory();
  int32_t desired = 0;
  for (auto _ : state) {
    History h = initial;  // the caller's history, as the controller keeps it
    Decision d = Decide(spec, config, snapshot, kNow, &h);
    desired = d.desired_replicas;
    benchmark::DoNotOptimize(d);
  }
  state.counters["desired"] = desired;
}

void BM_Decide_100Pods5Metrics_Behavior(benchmark::State& state) { BM_Decide(state, true); }
void BM_Decide_100Pods5Metrics_Legacy(benchmark::State& state) { BM_Decide(state, false); }

// Baseline: one 100-entry sample map, built the way each pod metric needs it.
void BM_Baseline_SampleMap100(benchmark::State& state) {
  const Snapshot snapshot = MakeSnapshot();
  const PodSamples& cpu = snapshot.metrics.pod_metrics.at("cpu");
  for (auto _ : state) {
    SampleMap m;
    m.reserve(cpu.size());
    for (const auto& [pod, sample] : cpu) m.emplace(pod, *sample);
    benchmark::DoNotOptimize(m);
  }
}

BENCHMARK(BM_Decide_100Pods5Metrics_Behavior);
BENCHMARK(BM_Decide_100Pods5Metrics_Legacy);
BENCHMARK(BM_Baseline_SampleMap100);

}  // namespace
}  // namespace tide::autoscaler

BENCHMARK_MAIN();
