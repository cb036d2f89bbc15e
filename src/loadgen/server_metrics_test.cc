#include "loadgen/server_metrics.h"

#include <cmath>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace tide::loadgen {
namespace {

std::string Scrape(double success, double queue_sum, double queue_count, double b5, double b10,
                   double cpu) {
  return fmt::format(R"(# HELP tide_inference_requests_total Requests.
# TYPE tide_inference_requests_total counter
tide_inference_requests_total{{model="m",version="1",outcome="success"}} {}
tide_inference_requests_total{{model="m",version="1",outcome="rejected"}} 2
tide_inference_requests_total{{model="other",version="1",outcome="success"}} 999
tide_inference_count_total{{model="m",version="1"}} {}
tide_inference_executions_total{{model="m",version="1"}} {}
tide_inference_queue_duration_seconds_bucket{{model="m",version="1",le="0.005"}} {}
tide_inference_queue_duration_seconds_bucket{{model="m",version="1",le="0.01"}} {}
tide_inference_queue_duration_seconds_bucket{{model="m",version="1",le="+Inf"}} {}
tide_inference_queue_duration_seconds_sum{{model="m",version="1"}} {}
tide_inference_queue_duration_seconds_count{{model="m",version="1"}} {}
process_cpu_seconds_total {}
)",
                     success, success * 4, success, b5, b10, b10, queue_sum, queue_count, cpu);
}

TEST(ExtractServerCounters, SumsOneModelOverItsVersions) {
  auto scrape = metrics::ParsePrometheusText(
      "tide_inference_requests_total{model=\"m\",version=\"1\",outcome=\"success\"} 3\n"
      "tide_inference_requests_total{model=\"m\",version=\"2\",outcome=\"success\"} 4\n"
      "tide_inference_requests_total{model=\"m\",version=\"2\",outcome=\"failure\"} 1\n"
      "tide_inference_requests_total{model=\"mm\",version=\"1\",outcome=\"rejected\"} 9\n"
      "tide_inference_batch_size_bucket{model=\"m\",version=\"1\",le=\"1\"} 2\n"
      "tide_inference_batch_size_bucket{model=\"m\",version=\"2\",le=\"1\"} 5\n"
      "tide_inference_batch_size_bucket{model=\"m\",version=\"2\",le=\"+Inf\"} 6\n"
      "tide_inference_batch_size_count{model=\"m\",version=\"2\"} 6\n");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  ServerCounters c = ExtractServerCounters(*scrape, "m");
  EXPECT_EQ(c.success, 7);
  EXPECT_EQ(c.failure, 1);
  EXPECT_EQ(c.rejected, 0);
  EXPECT_EQ(c.batch_size.buckets, (std::map<double, double>{{1, 7}, {INFINITY, 6}}));
  EXPECT_EQ(c.batch_size.count, 6);
  EXPECT_FALSE(c.process_cpu_seconds.has_value());  // no process_cpu_seconds_total sample
}

TEST(DiffServerCounters, BreakdownBetweenTwoScrapes) {
  auto a = metrics::ParsePrometheusText(Scrape(100, 0.2, 100, 90, 100, 10.0));
  auto b = metrics::ParsePrometheusText(Scrape(300, 1.0, 300, 190, 300, 12.5));
  ASSERT_TRUE(a.ok() && b.ok());
  ServerBreakdown d =
      DiffServerCounters(ExtractServerCounters(*a, "m"), ExtractServerCounters(*b, "m"));
  EXPECT_EQ(d.success, 200);
  EXPECT_EQ(d.rejected, 0);
  EXPECT_EQ(d.executions, 200);              // executions column = success in the fixture
  EXPECT_DOUBLE_EQ(d.mean_batch_size, 4.0);  // 800 items / 200 executions
  EXPECT_DOUBLE_EQ(d.mean_queue_s, 0.8 / 200);
  // Deltas: 100 under 5 ms, 200 under 10 ms: p99 (rank 198) is in (5, 10] ms.
  EXPECT_NEAR(d.p99_queue_s, 0.005 + 0.005 * (198.0 - 100) / 100, 1e-12);
  ASSERT_TRUE(d.cpu_s.has_value());
  EXPECT_DOUBLE_EQ(*d.cpu_s, 2.5);
}

TEST(HistogramQuantile, MatchesPrometheus) {
  std::map<double, double> b = {{0.1, 50}, {0.5, 90}, {1.0, 100}, {INFINITY, 100}};
  EXPECT_DOUBLE_EQ(HistogramQuantile(b, 0.5), 0.1);
  EXPECT_DOUBLE_EQ(HistogramQuantile(b, 0.7), 0.1 + 0.4 * 20 / 40);
  EXPECT_DOUBLE_EQ(HistogramQuantile(b, 0.95), 0.5 + 0.5 * 5 / 10);
  std::map<double, double> tail = {{0.1, 1}, {INFINITY, 10}};
  EXPECT_DOUBLE_EQ(HistogramQuantile(tail, 0.99), 0.1);
  EXPECT_EQ(HistogramQuantile({}, 0.5), 0);
}

}  // namespace
}  // namespace tide::loadgen
