#include "metrics/metrics.h"

#include <thread>

#include "gtest/gtest.h"
#include "metrics/process_collector.h"

namespace tide::metrics {
namespace {

TEST(Registry, RendersPrometheusTextExactly) {
  Registry r;
  auto* requests = r.AddCounter("tide_requests_total", "Requests.", {"model", "outcome"});
  requests->WithLabels({"simple", "success"})->Increment(3);
  requests->WithLabels({"a\"b\\c", "failure"})->Increment();
  auto* depth = r.AddGauge("tide_queue_depth", "Pending\nrequests.");
  depth->NoLabels()->Set(2.5);
  auto* h = r.AddHistogram("tide_latency_seconds", "Latency.", {"model"}, {0.1, 1});
  auto* child = h->WithLabels({"m"});
  child->Observe(0.05);
  child->Observe(0.1);  // lands in le="0.1": buckets are inclusive upper bounds
  child->Observe(5);
  r.AddCallback({"process_x", "X.", Type::kGauge, [] { return 7.0; }});
  EXPECT_EQ(r.RenderText(),
            "# HELP tide_requests_total Requests.\n"
            "# TYPE tide_requests_total counter\n"
            "tide_requests_total{model=\"a\\\"b\\\\c\",outcome=\"failure\"} 1\n"
            "tide_requests_total{model=\"simple\",outcome=\"success\"} 3\n"
            "# HELP tide_queue_depth Pending\\nrequests.\n"
            "# TYPE tide_queue_depth gauge\n"
            "tide_queue_depth 2.5\n"
            "# HELP tide_latency_seconds Latency.\n"
            "# TYPE tide_latency_seconds histogram\n"
            "tide_latency_seconds_bucket{model=\"m\",le=\"0.1\"} 2\n"
            "tide_latency_seconds_bucket{model=\"m\",le=\"1\"} 2\n"
            "tide_latency_seconds_bucket{model=\"m\",le=\"+Inf\"} 3\n"
            "tide_latency_seconds_sum{model=\"m\"} 5.15\n"
            "tide_latency_seconds_count{model=\"m\"} 3\n"
            "# HELP process_x X.\n"
            "# TYPE process_x gauge\n"
            "process_x 7\n");
}

TEST(Counter, ExactUnderConcurrency) {
  Registry r;
  Counter* c = r.AddCounter("c_total", "c")->NoLabels();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([c] {
      for (int i = 0; i < 100000; ++i) c->Increment();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->Value(), 400000.0);
}

TEST(LatencyBuckets, AscendingAndFineEnough) {
  auto b = LatencyBucketsSeconds();
  ASSERT_EQ(b.front(), 0.0005);
  ASSERT_EQ(b.back(), 10.0);
  for (size_t i = 1; i < b.size(); ++i) {
    EXPECT_GT(b[i], b[i - 1]);
    EXPECT_LE(b[i] / b[i - 1], 2.0);
    if (b[i - 1] >= 0.001) EXPECT_LE(b[i] / b[i - 1], 1.5 + 1e-9) << b[i];
  }
}

TEST(ProcessMetrics, ReadsThisProcess) {
  EXPECT_GT(ResidentMemoryBytes(), 1 << 20);
  double before = ProcessCpuSeconds();
  volatile double x = 0;
  for (int i = 0; i < 50000000; ++i) x = x + i;
  EXPECT_GT(ProcessCpuSeconds(), before);
  Registry r;
  AddProcessMetrics(&r);
  std::string text = r.RenderText();
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("\nprocess_start_time_seconds 1"), std::string::npos);
}

}  // namespace
}  // namespace tide::metrics
