#include "sim/report.h"

#include "gtest/gtest.h"
#include "sim/svg_report.h"

namespace tide::sim {
namespace {

PolicyResult Example() {
  PolicyResult r;
  r.name = "fixed-2";
  r.requests = 1000;
  r.completed = 990;
  r.rejected = 10;
  r.latency_mean_s = 0.0525;
  r.latency_p50_s = 0.05;
  r.latency_p95_s = 0.09;
  r.latency_p99_s = 0.125;
  r.latency_max_s = 0.3;
  r.wait_mean_s = 0.0025;
  r.wait_p_positive = 0.25;
  r.slo_attainment = 0.985;
  r.replica_seconds = 200;
  r.replicas_mean = 2;
  r.replicas_max = 2;
  r.cost_per_million = 200000;
  r.duration_s = 100;
  r.mean_batch_size = 1;
  r.timeline.push_back(TimelineRow{0, 10, 10, 0, 2, 2, 2, 0, 0.05, {}});
  return r;
}

TEST(Report, JsonHasTheContractsFieldNames) {
  EXPECT_EQ(ResultsJson({Example()}, 0.5),
            "{\"policies\":[{\"name\":\"fixed-2\",\"requests\":1000,\"completed\":990,"
            "\"rejected\":10,\"latency_s\":{\"mean\":0.0525,\"p50\":0.05,\"p95\":0.09,"
            "\"p99\":0.125,\"max\":0.3},\"wait_s\":{\"mean\":0.0025,\"p_positive\":0.25},"
            "\"slo_attainment\":0.985,\"replica_seconds\":200,\"replicas\":{\"mean\":2,"
            "\"max\":2},\"scale_ups\":0,\"scale_downs\":0,\"cost_per_million_requests\":200000,"
            "\"slo_recovery_s\":0,\"mean_batch_size\":1,\"duration_s\":100}],"
            "\"wall_seconds\":0.5,\"simulated_requests_per_second\":2000}\n");
}

TEST(Report, TimelineCsv) {
  EXPECT_EQ(TimelineCsv({Example()}),
            "second,arrivals,fixed_2_desired,fixed_2_ready,fixed_2_replicas,fixed_2_queued,"
            "fixed_2_p99_s,fixed_2_rejected\n0,10,2,2,2,0,0.05,0\n");
}

TEST(Report, SvgHasAxesLegendAndSloLine) {
  std::string svg = SvgReport({Example()}, 0.5, "title");
  EXPECT_NE(svg.find("request rate (requests/s)"), std::string::npos);
  EXPECT_NE(svg.find("ready replicas"), std::string::npos);
  EXPECT_NE(svg.find("time (s)"), std::string::npos);
  EXPECT_NE(svg.find(">fixed-2</text>"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
  EXPECT_EQ(svg.rfind("</svg>\n"), svg.size() - 7);
}

}  // namespace
}  // namespace tide::sim
