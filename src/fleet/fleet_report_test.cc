// The fleet's report pieces on hand-made inputs: exact lines, rows and files.

#include "fleet/fleet_report.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

TEST(DecisionReasonLabelTest, KubectlWordsForARescaleElseTheMachineReason) {
  autoscaler::Decision up;
  up.rescale = true;
  up.reason = "DesiredWithinRange";
  up.message =
      "New size: 4; reason: pods metric tide_inference_queue_depth above target (proposal 4); "
      "the desired count is within the acceptable range";
  EXPECT_EQ(DecisionReasonLabel(up), "pods metric tide_inference_queue_depth above target");
  autoscaler::Decision keep;
  keep.reason = "ScaleDownStabilized";
  keep.message = "Keeping 3 replicas (proposal 1); recent recommendations were higher";
  EXPECT_EQ(DecisionReasonLabel(keep), "ScaleDownStabilized");
}

TEST(EventLineTest, DecisionsAndReplicaEvents) {
  FleetEvent d;
  d.kind = "decision";
  d.message = "New size: 2; reason: All metrics below target (proposal 2); x";
  EXPECT_EQ(EventLine(d), "HPA: New size: 2; reason: All metrics below target (proposal 2); x");
  FleetEvent r;
  r.kind = "died";
  r.replica = "tide-serve-3";
  r.message = "killed by signal 9";
  EXPECT_EQ(EventLine(r), "tide-serve-3 died: killed by signal 9");
  r.message.clear();
  r.kind = "ready";
  EXPECT_EQ(EventLine(r), "tide-serve-3 ready");
}

std::string RouterMetrics(double ok, double err, double b01, double b02, double inf) {
  std::ostringstream s;
  s << "# TYPE tide_router_requests_total counter\n"
    << "tide_router_requests_total{model=\"m\",code=\"200\"} " << ok << "\n"
    << "tide_router_requests_total{model=\"m\",code=\"503\"} " << err << "\n"
    << "# TYPE tide_router_request_duration_seconds histogram\n"
    << "tide_router_request_duration_seconds_bucket{model=\"m\",le=\"0.1\"} " << b01 << "\n"
    << "tide_router_request_duration_seconds_bucket{model=\"m\",le=\"0.2\"} " << b02 << "\n"
    << "tide_router_request_duration_seconds_bucket{model=\"m\",le=\"+Inf\"} " << inf << "\n"
    << "# TYPE tide_router_held_requests gauge\ntide_router_held_requests 0\n";
  return s.str();
}

TEST(FleetRecorderTest, RowsAreDeltasPerSecond) {
  autoscaler::HpaSpec spec;
  spec.metrics.resize(1);
  spec.metrics[0].type = "Resource";
  spec.metrics[0].resource = autoscaler::MetricSpec::ResourceSource{"cpu", {}};
  FleetRecorder rec(spec);
  FleetStatus s;
  s.desired = 2;
  s.ready = 1;
  FleetMetricStatus m;
  m.current = "73%";
  s.metrics.push_back(m);
  const absl::Time t0 = absl::FromUnixSeconds(100);
  rec.Sample(t0, s, RouterMetrics(10, 0, 10, 10, 10), {});
  EXPECT_FALSE(rec.LastRow().has_value());  // the first sample is the baseline
  // 2 s later: 40 more answered 200 and 4 more 503; latencies: 20 in <= 0.1,
  // 20 in (0.1, 0.2], 4 over.
  rec.Sample(t0 + absl::Seconds(2), s, RouterMetrics(50, 4, 30, 50, 54), {});
  auto row = rec.LastRow();
  ASSERT_TRUE(row.has_value());
  EXPECT_DOUBLE_EQ(row->t, 2);
  EXPECT_DOUBLE_EQ(row->completions, 22);  // (40 + 4) / 2 s
  EXPECT_DOUBLE_EQ(row->errors, 2);
  EXPECT_DOUBLE_EQ(row->arrivals, 22);
  EXPECT_EQ(row->desired, 2);
  EXPECT_EQ(row->ready, 1);
  EXPECT_EQ(row->metrics, std::vector<std::string>{"73%"});
  // Deltas {0.1: 20, 0.2: 40, +Inf: 44}: p50 rank 22 → 0.1 + 0.1 * 2/20.
  EXPECT_DOUBLE_EQ(*row->p50_seconds, 0.11);
  // p99 rank 43.56 falls in +Inf: the highest finite bound.
  EXPECT_DOUBLE_EQ(*row->p99_seconds, 0.2);

  char tmpl[] = "/tmp/tide_report_test_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  ASSERT_TRUE(rec.WriteReport(dir + "/r", 0.2).ok());
  std::ifstream csv(dir + "/r/timeline.csv");
  std::string header, line;
  std::getline(csv, header);
  std::getline(csv, line);
  EXPECT_EQ(header,
            "t_s,arrivals_per_s,completions_per_s,errors_per_s,desired_replicas,ready_replicas,"
            "\"cpu resource utilization (percentage of request)\",p50_s,p99_s");
  EXPECT_EQ(line, "2.0,22.00,22.00,2.00,2,1,73%,0.1100,0.2000");
  std::ifstream svg_in(dir + "/r/report.svg");
  std::stringstream svg;
  svg << svg_in.rdbuf();
  for (const char* want : {"requests / s", "replicas", "latency (ms)", "time since start (s)",
                           "SLO 200 ms", "desired replicas", "p99 at the router (ms)"}) {
    EXPECT_TRUE(absl::StrContains(svg.str(), want)) << want;
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/r/events.jsonl"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tide::fleet
