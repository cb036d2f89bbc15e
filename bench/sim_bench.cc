// tide sim's speed: simulated requests per second of wall time, per policy,
// on a long Poisson stream (the goal: one day of 500 req/s, 43 M
// requests, against 3 HPA policies, >= 2 M simulated requests per wall second
// per policy on one core), and memory that does not grow with the stream's
// length: arrivals are drawn as the simulation goes (never stored), and the
// per-second timeline is off. Peak RSS is printed after a run 1/24 as long
// and after the full run; they should be about the same.
//
//   ninja -C build sim_bench
//   ./build/bench/sim_bench [hours=24] [rate=500]

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "autoscaler/hpa_spec.h"
#include "sim/simulation.h"
#include "workload/arrivals.h"

namespace {

using tide::sim::PolicySpec;

PolicySpec Hpa(const std::string& name, const std::string& metric) {
  std::string yaml = "spec:\n  minReplicas: 1\n  maxReplicas: 100\n  metrics:\n" + metric +
                     "  behavior:\n    scaleUp:\n      stabilizationWindowSeconds: 0\n"
                     "      policies:\n      - {type: Percent, value: 100, periodSeconds: 15}\n"
                     "      - {type: Pods, value: 4, periodSeconds: 15}\n"
                     "      selectPolicy: Max\n    scaleDown:\n"
                     "      stabilizationWindowSeconds: 300\n";
  PolicySpec p;
  p.kind = PolicySpec::Kind::kHpa;
  p.name = name;
  p.hpa = (*tide::autoscaler::HpaSpecsFromYaml(yaml))[0];
  return p;
}

// This process's CPU time: on a shared machine, wall time also counts other
// processes' turns on the core.
double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double PeakRssMb() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  double hours = argc > 1 ? std::atof(argv[1]) : 24;
  double rate = argc > 2 ? std::atof(argv[2]) : 500;
  tide::sim::SimOptions o;
  // examples/models/simulated: 10 ms + 40 ms per row, batches up to 8, one instance.
  o.pod.instances = 1;
  o.pod.batching = {8, true, {}, absl::ZeroDuration()};
  o.pod.max_queue_size = 64;
  o.pod.service.compute_ms = 10;
  o.pod.service.per_item_ms = 40;
  o.cluster.startup = *tide::sim::ParseDurationDistribution("uniform:15:45");
  o.cluster.readiness_delay = 2 * tide::sim::kNanosPerSecond;
  o.metrics.latency_buckets_s = {0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075,
                                 0.01,   0.015, 0.02,   0.03,  0.04,  0.05,  0.075, 0.1,
                                 0.15,   0.2,   0.3,    0.4,   0.5,   0.75,  1.0,   1.5,
                                 2.0,    3.0,   4.0,    5.0,   7.5,   10.0};
  o.timeline = false;
  std::vector<PolicySpec> policies = {
      Hpa("hpa-cpu-50",
          "  - type: Resource\n    resource:\n      name: cpu\n      target: "
          "{type: Utilization, averageUtilization: 50}\n"),
      Hpa("hpa-queue-depth-4",
          "  - type: Pods\n    pods:\n      metric: {name: "
          "tide_inference_queue_depth}\n      target: {type: "
          "AverageValue, averageValue: \"4\"}\n"),
      Hpa("hpa-p99-200ms",
          "  - type: External\n    external:\n      metric: {name: "
          "tide_inference_request_duration_seconds_p99}\n      target: {type: "
          "Value, value: 200m}\n"),
  };
  std::printf("%.3g h of Poisson %.0f req/s, %zu HPA policies, one core\n", hours, rate,
              policies.size());
  for (double h : {hours / 24, hours}) {
    o.horizon = static_cast<tide::sim::Nanos>(h * 3600 * 1e9);
    for (const PolicySpec& p : policies) {
      tide::workload::PoissonArrivals arrivals(rate, 1);
      absl::Time start = absl::Now();
      double cpu_start = CpuSeconds();
      auto r = tide::sim::Simulate(o, p, &arrivals);
      double wall = absl::ToDoubleSeconds(absl::Now() - start);
      double cpu = CpuSeconds() - cpu_start;
      if (!r.ok()) {
        std::fprintf(stderr, "%s\n", std::string(r.status().message()).c_str());
        return 1;
      }
      std::printf(
          "%-18s %6.2f h  %11llu requests  %7.2f s wall  %6.2f M simulated req/s  (CPU %6.2f s: "
          "%5.2f M/s)  replicas mean %.1f max %d  SLO(500 ms) %.4f  peak RSS %.1f MB\n",
          p.name.c_str(), h, static_cast<unsigned long long>(r->requests), wall,
          static_cast<double>(r->requests) / wall / 1e6, cpu,
          static_cast<double>(r->requests) / cpu / 1e6, r->replicas_mean, r->replicas_max,
          r->slo_attainment, PeakRssMb());
      std::fflush(stdout);
    }
  }
  return 0;
}
