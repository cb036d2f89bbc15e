#include "sim/metrics_pipeline.h"

#include "autoscaler/hpa_spec.h"
#include "gtest/gtest.h"

namespace tide::sim {
namespace {

constexpr Nanos kS = kNanosPerSecond;

absl::Time At(Nanos t) { return absl::UnixEpoch() + absl::Nanoseconds(t); }

autoscaler::HpaSpec Spec(const std::string& metrics_yaml) {
  return (*autoscaler::HpaSpecsFromYaml("spec:\n  maxReplicas: 5\n  metrics:\n" + metrics_yaml))[0];
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() : recorder_(o_.slo_latency, {0.1, 0.2, 0.4}) {
    o_.pod.batching.max_batch_size = 0;
    o_.pod.service.compute_ms = 1000;
    o_.pod.service.per_item_ms = 0;
    o_.pod.max_queue_size = 100;
    o_.metrics.latency_buckets_s = {0.1, 0.2, 0.4};
    cluster_ = std::make_unique<Cluster>(&o_, &events_, &recorder_);
    pipeline_ = std::make_unique<MetricsPipeline>(&o_, cluster_.get(), &recorder_);
    cluster_->StartReady(1);
  }
  void RunUntil(Nanos t) {
    while (events_.NextTime() <= t) {
      Event e = events_.Pop();
      cluster_->set_now(e.time);
      cluster_->OnPodEvent(e);
    }
    cluster_->set_now(t);
  }

  SimOptions o_;
  EventQueue events_;
  Recorder recorder_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<MetricsPipeline> pipeline_;
};

// Busy 0-1 s, 5-6 s and 9.5-10.5 s: 2.5 core-seconds in [0, 10].
TEST_F(PipelineTest, CpuIsTheAverageOverTheMetricsServerWindow) {
  pipeline_->ScrapeMetricsServer(0);
  for (Nanos t : {Nanos{0}, 5 * kS, 9500 * kS / 1000}) {
    RunUntil(t);
    cluster_->Route(t);
  }
  RunUntil(10 * kS);
  pipeline_->ScrapeMetricsServer(10 * kS);
  autoscaler::Snapshot snap;
  ASSERT_TRUE(pipeline_
                  ->Observe(Spec("  - type: Resource\n    resource: {name: cpu, target: "
                                 "{type: Utilization, averageUtilization: 50}}\n"),
                            At(12 * kS), &snap)
                  .ok());
  ASSERT_EQ(snap.pods.size(), 1u);
  EXPECT_EQ(snap.pods[0].name, "tide-0");
  EXPECT_EQ(*snap.pods[0].ready, true);
  const autoscaler::Sample& s = *snap.metrics.pod_metrics["cpu"]["tide-0"];
  EXPECT_EQ(s.milli_value, 250);
  EXPECT_EQ(s.timestamp, At(10 * kS));
  EXPECT_EQ(s.window, absl::Seconds(15));
}

TEST_F(PipelineTest, ContainerResourceCpuIsReportedForTheNamedContainer) {
  pipeline_->ScrapeMetricsServer(0);
  cluster_->Route(0);  // busy 0-1 s
  RunUntil(15 * kS);
  pipeline_->ScrapeMetricsServer(15 * kS);
  autoscaler::Snapshot snap;
  ASSERT_TRUE(pipeline_
                  ->Observe(Spec("  - type: ContainerResource\n    containerResource: {name: cpu, "
                                 "container: server, target: {type: Utilization, "
                                 "averageUtilization: 50}}\n"),
                            At(15 * kS), &snap)
                  .ok());
  EXPECT_EQ(snap.pods[0].containers[0].name, "server");
  EXPECT_EQ(snap.metrics.container_metrics["cpu"]["tide-0"]["server"]->milli_value, 67);
}

// 50 requests at 50 ms, 40 at 150 ms, 10 at 300 ms. p99: rank 99 falls in
// (0.2, 0.4] with 90 below and 10 inside: 0.2 + 0.2 x 9/10 = 0.38 s.
TEST_F(PipelineTest, P99IsHistogramQuantileOverTheRateWindow) {
  pipeline_->ScrapePrometheus(0, 0);
  for (int i = 0; i < 50; ++i) recorder_.OnComplete(50'000'000);
  for (int i = 0; i < 40; ++i) recorder_.OnComplete(150'000'000);
  for (int i = 0; i < 10; ++i) recorder_.OnComplete(300'000'000);
  pipeline_->ScrapePrometheus(15 * kS, 100);
  EXPECT_DOUBLE_EQ(pipeline_->LatencyQuantile(0.99, 15 * kS), 0.38);
  EXPECT_DOUBLE_EQ(pipeline_->LatencyQuantile(0.5, 15 * kS), 0.1);
  EXPECT_EQ(pipeline_->LatencyQuantile(0.99, 14 * kS), 0);  // one scrape only: no rate
  autoscaler::Snapshot snap;
  auto spec = Spec(
      "  - type: External\n    external:\n      metric: {name: "
      "tide_inference_request_duration_seconds_p99}\n      target: {type: Value, value: 200m}\n"
      "  - type: External\n    external:\n      metric: {name: requests_per_second}\n"
      "      target: {type: Value, value: 10}\n");
  ASSERT_TRUE(pipeline_->Observe(spec, At(20 * kS), &snap).ok());
  EXPECT_EQ(snap.metrics.external_metrics["tide_inference_request_duration_seconds_p99"],
            std::vector<int64_t>{380});
  EXPECT_EQ(snap.metrics.external_metrics["requests_per_second"],
            std::vector<int64_t>{6667});  // 100 requests over 15 s
  // Everything beyond the last bound: the highest finite bound.
  for (int i = 0; i < 1000; ++i) recorder_.OnComplete(5'000'000'000);
  pipeline_->ScrapePrometheus(30 * kS, 1100);
  EXPECT_DOUBLE_EQ(pipeline_->LatencyQuantile(0.99, 30 * kS), 0.4);
}

TEST_F(PipelineTest, QueueDepthIsTheScrapedGaugeSeenThroughTheAdapterLag) {
  o_.metrics.adapter_lag = 10 * kS;
  for (int i = 0; i < 4; ++i) cluster_->Route(0);  // 1 running, 3 waiting
  pipeline_->ScrapePrometheus(0, 4);
  RunUntil(1 * kS);  // 1 done, 1 running, 2 waiting
  pipeline_->ScrapePrometheus(1 * kS, 4);
  auto spec = Spec(
      "  - type: Pods\n    pods:\n      metric: {name: tide_inference_queue_depth}\n"
      "      target: {type: AverageValue, averageValue: \"4\"}\n");
  autoscaler::Snapshot snap;
  ASSERT_TRUE(pipeline_->Observe(spec, At(10500 * kS / 1000), &snap).ok());  // sees t = 0
  EXPECT_EQ(snap.metrics.pod_metrics["tide_inference_queue_depth"]["tide-0"]->milli_value, 3000);
  autoscaler::Snapshot later;
  ASSERT_TRUE(pipeline_->Observe(spec, At(11 * kS), &later).ok());  // sees t = 1 s
  EXPECT_EQ(later.metrics.pod_metrics["tide_inference_queue_depth"]["tide-0"]->milli_value, 2000);
  autoscaler::Snapshot early;
  ASSERT_TRUE(pipeline_->Observe(spec, At(5 * kS), &early).ok());  // nothing scraped yet
  EXPECT_TRUE(early.metrics.pod_metrics["tide_inference_queue_depth"].empty());
}

// The simulated GPU (one per instance) is busy while a batch runs: 0-1 s and
// 5-6 s in the first 10 s (0.2), then 10-12 s of the next 5 s (0.4).
TEST_F(PipelineTest, GpuUtilizationIsTheBatchOccupancySinceThePreviousScrape) {
  pipeline_->ScrapePrometheus(0, 0);
  cluster_->Route(0);
  RunUntil(5 * kS);
  cluster_->Route(5 * kS);
  RunUntil(10 * kS);
  pipeline_->ScrapePrometheus(10 * kS, 2);
  cluster_->Route(10 * kS);
  cluster_->Route(10 * kS);  // queued behind the first: busy until 12 s
  RunUntil(15 * kS);
  auto spec = Spec(
      "  - type: Pods\n    pods:\n      metric: {name: tide_gpu_utilization_ratio}\n"
      "      target: {type: AverageValue, averageValue: 700m}\n"
      "  - type: Pods\n    pods:\n      metric: {name: DCGM_FI_DEV_GPU_UTIL}\n"
      "      target: {type: AverageValue, averageValue: \"70\"}\n"
      "  - type: External\n    external:\n      metric: {name: tide_gpu_utilization_ratio}\n"
      "      target: {type: AverageValue, averageValue: 700m}\n");
  for (const auto& m : spec.metrics) EXPECT_EQ(MetricsPipeline::Unsupported(m), "");
  autoscaler::Snapshot snap;
  ASSERT_TRUE(pipeline_->Observe(spec, At(12 * kS), &snap).ok());
  EXPECT_EQ(snap.metrics.pod_metrics["tide_gpu_utilization_ratio"]["tide-0"]->milli_value, 200);
  EXPECT_EQ(snap.metrics.pod_metrics["tide_gpu_utilization_ratio"]["tide-0"]->timestamp,
            At(10 * kS));
  EXPECT_EQ(snap.metrics.pod_metrics["DCGM_FI_DEV_GPU_UTIL"]["tide-0"]->milli_value, 20000);
  EXPECT_EQ(snap.metrics.external_metrics["tide_gpu_utilization_ratio"], std::vector<int64_t>{200});
  pipeline_->ScrapePrometheus(15 * kS, 4);
  autoscaler::Snapshot later;
  ASSERT_TRUE(pipeline_->Observe(spec, At(15 * kS), &later).ok());
  EXPECT_EQ(later.metrics.pod_metrics["tide_gpu_utilization_ratio"]["tide-0"]->milli_value, 400);
  EXPECT_EQ(later.metrics.pod_metrics["DCGM_FI_DEV_GPU_UTIL"]["tide-0"]->milli_value, 40000);
}

TEST(MetricsPipeline, SaysWhichMetricsItCannotSupply) {
  auto spec = Spec(
      "  - type: Resource\n    resource: {name: memory, target: {type: AverageValue, "
      "averageValue: 1Gi}}\n  - type: Resource\n    resource: {name: cpu, target: {type: "
      "Utilization, averageUtilization: 50}}\n");
  EXPECT_EQ(MetricsPipeline::Unsupported(spec.metrics[0]),
            "Resource metric 'memory': tide sim supplies cpu, Pods *queue_depth* / *inflight*, "
            "External/Object *p99* (p50/p90/p95) and *requests* rate, and Pods/External GPU "
            "utilization (*gpu_util*, DCGM_FI_DEV_GPU_UTIL); the HPA will see it as unavailable");
  EXPECT_EQ(MetricsPipeline::Unsupported(spec.metrics[1]), "");
}

}  // namespace
}  // namespace tide::sim
