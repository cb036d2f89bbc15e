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

}  // namespace
}  // namespace tide::server
