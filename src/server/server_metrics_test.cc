#include "server/server_metrics.h"

#include "gtest/gtest.h"

namespace tide::server {
namespace {

TEST(MetricsObserver, CountsEveryOutcomeExactly) {
  metrics::Registry r;
  ServerMetrics m = ServerMetrics::Register(&r);
  MetricsObserver o(m, "simple", "1");
  for (int i = 0; i < 3; ++i) o.OnEnqueued();
  o.OnDequeued();
  o.OnDequeued();
  o.OnBatch(5, 2, {absl::Milliseconds(1), absl::Milliseconds(10), absl::Milliseconds(2)});
  o.OnCompleted(absl::OkStatus(), absl::Milliseconds(3), absl::Milliseconds(15));
  o.OnCompleted(absl::InternalError("x"), absl::Milliseconds(1), absl::Milliseconds(4));
  o.OnRejected(absl::UnavailableError("full"));
  o.OnRejected(absl::InvalidArgumentError("bad"));
  EXPECT_EQ(m.requests->WithLabels({"simple", "1", "success"})->Value(), 1);
  EXPECT_EQ(m.requests->WithLabels({"simple", "1", "failure"})->Value(), 2);
  EXPECT_EQ(m.requests->WithLabels({"simple", "1", "rejected"})->Value(), 1);
  EXPECT_EQ(m.failures->WithLabels({"simple", "1", "internal"})->Value(), 1);
  EXPECT_EQ(m.failures->WithLabels({"simple", "1", "unavailable"})->Value(), 1);
  EXPECT_EQ(m.failures->WithLabels({"simple", "1", "invalid_argument"})->Value(), 1);
  EXPECT_EQ(m.queue_depth->WithLabels({"simple", "1"})->Value(), 1);
  EXPECT_EQ(m.in_flight->WithLabels({"simple", "1"})->Value(), 1);
  EXPECT_EQ(m.inferences->WithLabels({"simple", "1"})->Value(), 5);
  EXPECT_EQ(m.executions->WithLabels({"simple", "1"})->Value(), 1);
  auto h = m.request_duration->WithLabels({"simple", "1"})->Read();
  EXPECT_EQ(h.count, 2u);
  EXPECT_DOUBLE_EQ(h.sum, 0.019);
  core::ModelStatistics s = o.Snapshot();
  EXPECT_EQ(s.success_count, 1u);
  EXPECT_EQ(s.success_ns, 15'000'000u);
  EXPECT_EQ(s.fail_count, 2u);
  EXPECT_EQ(s.fail_ns, 4'000'000u);
  EXPECT_EQ(s.queue_ns, 3'000'000u);
  EXPECT_EQ(s.compute_infer_count, 2u);
  EXPECT_EQ(s.compute_infer_ns, 20'000'000u);
  EXPECT_EQ(s.inference_count, 5u);
  EXPECT_EQ(s.execution_count, 1u);
}

TEST(MetricsObserver, BatchStatsHaveOneEntryPerExecutedBatchSize) {
  metrics::Registry r;
  ServerMetrics m = ServerMetrics::Register(&r);
  MetricsObserver o(m, "simple", "1");
  EXPECT_TRUE(o.Snapshot().batch_stats.empty());
  const core::ExecuteTimings t{absl::Microseconds(1), absl::Microseconds(10),
                               absl::Microseconds(2)};
  for (int i = 0; i < 3; ++i) o.OnBatch(1, 1, t);
  o.OnBatch(4, 2, {absl::Microseconds(3), absl::Microseconds(30), absl::Microseconds(5)});
  o.OnBatch(4, 3, t);
  core::ModelStatistics s = o.Snapshot();
  ASSERT_EQ(s.batch_stats.size(), 2u);
  // Triton: per batch size, a count of executions and their summed time.
  EXPECT_EQ(s.batch_stats[0], (core::BatchStatistics{1, 3, 3'000, 3, 30'000, 3, 6'000}));
  EXPECT_EQ(s.batch_stats[1], (core::BatchStatistics{4, 2, 4'000, 2, 40'000, 2, 7'000}));
  // Per request, each request counts its batch's time.
  EXPECT_EQ(s.compute_infer_count, 8u);
  EXPECT_EQ(s.compute_infer_ns, 3 * 10'000u + 2 * 30'000u + 3 * 10'000u);
  EXPECT_EQ(s.execution_count, 5u);
  EXPECT_EQ(s.inference_count, 11u);
}

}  // namespace
}  // namespace tide::server
