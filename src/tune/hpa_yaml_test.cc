#include "tune/hpa_yaml.h"

#include <gtest/gtest.h>

#include "autoscaler/hpa_spec.h"
#include "workload/arrivals.h"

namespace tide::tune {
namespace {

TEST(HpaYamlTest, EveryMetricParsesBackToTheSameSpecAndValidates) {
  Candidate c;
  c.min_replicas = 3;
  c.max_replicas = 12;
  c.up_window_s = 30;
  c.up_percent = 200;
  c.down_window_s = 120;
  c.down_percent = 25;
  YamlComments why;
  why.header = {"header line"};
  why.min_replicas = {"why min"};
  why.metric = {"why metric", "  indented: with a colon"};
  for (Metric m : {Metric::kCpu, Metric::kQueueDepth, Metric::kP99}) {
    c.metric = m;
    c.target = m == Metric::kCpu ? 60 : 0.15;
    std::string yaml = HpaYaml(c, "simulated", why);
    auto specs = autoscaler::HpaSpecsFromYaml(yaml);
    ASSERT_TRUE(specs.ok()) << specs.status() << "\n" << yaml;
    ASSERT_EQ(specs->size(), 1u);
    const autoscaler::HpaSpec& s = (*specs)[0];
    EXPECT_TRUE(autoscaler::Validate(s, {}).empty()) << yaml;
    EXPECT_EQ(s.min_replicas, 3);
    EXPECT_EQ(s.max_replicas, 12);
    ASSERT_EQ(s.metrics.size(), 1u);
    autoscaler::HpaSpec expected = ToHpaSpec(c, "simulated");
    EXPECT_EQ(s.metrics[0].type, expected.metrics[0].type);
    EXPECT_EQ(s.metrics[0].Describe(), expected.metrics[0].Describe());
    ASSERT_TRUE(s.behavior && s.behavior->scale_up && s.behavior->scale_down);
    EXPECT_EQ(s.behavior->scale_up->stabilization_window_seconds, 30);
    EXPECT_EQ((*s.behavior->scale_up->policies)[0].value, 200);
    EXPECT_EQ(s.behavior->scale_down->stabilization_window_seconds, 120);
    EXPECT_EQ((*s.behavior->scale_down->policies)[0].value, 25);
    if (m == Metric::kCpu) {
      EXPECT_EQ(s.metrics[0].resource->target.average_utilization, 60);
    } else if (m == Metric::kQueueDepth) {
      EXPECT_EQ(s.metrics[0].pods->target.average_value->ToString(), "150m");
      EXPECT_EQ(s.metrics[0].pods->metric.name, "tide_inference_queue_depth");
    } else {
      EXPECT_EQ(s.metrics[0].external->target.value->ToString(), "150m");
    }
  }
}

}  // namespace
}  // namespace tide::tune
