// The control loop of `tide up`, one sync over N replicas: parse each
// replica's /metrics (the embedded scrape source), then one HPA reconcile
// (the unchanged Controller) on CPU, queue depth and p99 together. The
// budget is 5 ms of CPU per sync at 50 replicas; this prints the median CPU
// per sync and its ratio to that budget.
//
//   build/bench/fleet_sync_bench [replicas=50] [syncs=200]
//
// The /metrics pages are what `tide serve` renders (its own registry code)
// for two models with traffic, so their size and shape are real.

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autoscaler/controller.h"
#include "autoscaler/hpa_spec.h"
#include "common/clock.h"
#include "fleet/scrape_source.h"
#include "metrics/metrics.h"
#include "metrics/process_collector.h"
#include "server/server_metrics.h"

namespace {

using namespace tide;  // NOLINT(build/namespaces): a benchmark's main file

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One replica's exposition after `sync` syncs of traffic.
std::string ReplicaMetrics(int replica, int sync) {
  metrics::Registry registry;
  server::ServerMetrics sm = server::ServerMetrics::Register(&registry);
  metrics::AddProcessMetrics(&registry);
  for (const char* model : {"simulated", "mlp"}) {
    server::MetricsObserver obs(sm, model, "1");
    const int requests = 200 + 15 * sync + replica;
    for (int i = 0; i < requests; i += 10) {
      obs.OnEnqueued();
      obs.OnDequeued();
      obs.OnCompleted(absl::OkStatus(), absl::Milliseconds(i % 7),
                      absl::Milliseconds(20 + (i * 13 + replica) % 180));
    }
    sm.queue_depth->WithLabels({model, "1"})->Set((replica + sync) % 5);
  }
  // The process collector reads this process's CPU: give each replica its own.
  std::string text = registry.RenderText();
  text += "# HELP tide_bench_note replica " + std::to_string(replica) + "\n";
  return text;
}

constexpr char kHpa[] = R"(
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: tide}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: tide}
  minReplicas: 1
  maxReplicas: 100
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  - type: Pods
    pods:
      metric: {name: tide_inference_queue_depth}
      target: {type: AverageValue, averageValue: "4"}
  - type: External
    external:
      metric: {name: tide_inference_request_duration_seconds_p99}
      target: {type: Value, value: 200m}
)";

class FixedScale : public autoscaler::ScaleTarget {
 public:
  explicit FixedScale(int n) : n_(n) {}
  absl::StatusOr<autoscaler::ScaleState> GetScale() override {
    return autoscaler::ScaleState{n_, n_};
  }
  absl::Status SetReplicas(int32_t) override { return absl::OkStatus(); }  // the fleet stays as is

 private:
  int32_t n_;
};

}  // namespace

int main(int argc, char** argv) {
  const int replicas = argc > 1 ? std::atoi(argv[1]) : 50;
  const int syncs = argc > 2 ? std::atoi(argv[2]) : 200;
  if (replicas < 1 || syncs < 4) {
    std::fprintf(stderr, "usage: fleet_sync_bench [replicas>=1] [syncs>=4]\n");
    return 2;
  }
  // Pages for two consecutive scrapes per replica (rates need two points).
  std::vector<std::vector<std::string>> pages(2, std::vector<std::string>(replicas));
  for (int r = 0; r < replicas; ++r) {
    for (int s = 0; s < 2; ++s) pages[s][r] = ReplicaMetrics(r, s);
  }
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  std::vector<fleet::FleetPod> pods(replicas);
  for (int r = 0; r < replicas; ++r) {
    pods[r].info.name = "tide-serve-" + std::to_string(r);
    pods[r].info.ready = true;
    pods[r].info.start_time = t0 - absl::Hours(1);
    pods[r].info.ready_transition_time = t0 - absl::Hours(1);
    pods[r].metrics_port = static_cast<uint16_t>(10000 + r);
  }
  int sync = 0;
  fleet::ScrapeMetricsSource::Options so;
  so.pods = [&pods] { return pods; };
  so.fetch = [&pages, &sync](const fleet::FleetPod& p) -> absl::StatusOr<std::string> {
    return pages[sync % 2][p.metrics_port - 10000];
  };
  auto source = fleet::ScrapeMetricsSource::Create(std::move(so));
  if (!source.ok()) {
    std::fprintf(stderr, "%s\n", std::string(source.status().message()).c_str());
    return 1;
  }
  auto specs = autoscaler::HpaSpecsFromYaml(kHpa);
  if (!specs.ok() || specs->empty()) {
    std::fprintf(stderr, "bad HPA\n");
    return 1;
  }
  FixedScale target(replicas);
  common::ManualClock clock(t0);
  autoscaler::Controller::Options co;
  co.spec = specs->front();
  co.target = &target;
  co.metrics = source->get();
  co.clock = &clock;
  auto controller = autoscaler::Controller::Create(std::move(co));
  if (!controller.ok()) {
    std::fprintf(stderr, "%s\n", std::string(controller.status().message()).c_str());
    return 1;
  }
  std::vector<double> per_sync, scrape_part;
  std::string last_reason;
  for (sync = 0; sync < syncs; ++sync) {
    const absl::Time now = t0 + absl::Seconds(15) * sync;
    const double start = CpuSeconds();
    (*source)->Scrape(now);
    const double scraped = CpuSeconds();
    autoscaler::ReconcileResult r = (*controller)->RunOnce(now);
    const double spent = CpuSeconds() - start;
    if (sync >= 2) {  // the first two have no rate yet
      per_sync.push_back(spent);
      scrape_part.push_back(scraped - start);
    }
    if (!r.status.ok()) {
      std::fprintf(stderr, "sync %d: %s\n", sync, std::string(r.status.message()).c_str());
      return 1;
    }
    if (r.decision) last_reason = r.decision->reason;
  }
  std::sort(per_sync.begin(), per_sync.end());
  std::sort(scrape_part.begin(), scrape_part.end());
  const double median_ms = per_sync[per_sync.size() / 2] * 1e3;
  const double p90_ms = per_sync[per_sync.size() * 9 / 10] * 1e3;
  std::printf("replicas %d, %zu syncs, /metrics page %zu bytes\n", replicas, per_sync.size(),
              pages[0][0].size());
  std::printf("CPU per sync (scrape parse + decision): median %.3f ms, p90 %.3f ms\n", median_ms,
              p90_ms);
  std::printf("of which scraping (parse + history): median %.3f ms\n",
              scrape_part[scrape_part.size() / 2] * 1e3);
  std::printf("budget 5 ms: median / budget = %.2f; last decision: %s\n", median_ms / 5.0,
              last_reason.c_str());
  return 0;
}
