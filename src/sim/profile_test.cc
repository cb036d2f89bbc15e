#include "sim/profile.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tide::sim {
namespace {

TEST(ServiceProfile, TableIsInterpolatedAndExtrapolated) {
  auto p = ParseServiceProfile(R"({"batch_latency_ms": {"8": 330, "1": 50, "4": 170}})", "f");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->points.size(), 3u);
  EXPECT_DOUBLE_EQ(p->MeanMs(1), 50);
  EXPECT_DOUBLE_EQ(p->MeanMs(2), 90);
  EXPECT_DOUBLE_EQ(p->MeanMs(6), 250);
  EXPECT_DOUBLE_EQ(p->MeanMs(16), 650);  // the last slope, 40 ms per row
  auto one = ParseServiceProfile(R"({"batch_latency_ms": {"1": 12.5}})", "f");
  EXPECT_DOUBLE_EQ(one->MeanMs(8), 12.5);
}

TEST(ServiceProfile, ReadsTheServerBreakdownOfATideLoadSweep) {
  auto p = ParseServiceProfile(R"({"tool": "tide load", "levels": [
      {"level": 1, "server": {"executions": 100, "mean_batch_size": 1, "mean_compute_ms": 50}},
      {"level": 8, "server": null},
      {"level": 16, "server": {"executions": 50, "mean_batch_size": 4, "mean_compute_ms": 170}},
      {"level": 32, "server": {"executions": 40, "mean_batch_size": 4, "mean_compute_ms": 174}}]})",
                               "sweep.json");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->points.size(), 2u);
  EXPECT_DOUBLE_EQ(p->points[1].second, 172);
  EXPECT_DOUBLE_EQ(p->MeanMs(2), 50 + 122.0 / 3);
}

TEST(ServiceProfile, NamesWhatIsWrong) {
  EXPECT_EQ(ParseServiceProfile("[1]", "f.json").status().message(), "f.json: not a JSON object");
  EXPECT_EQ(ParseServiceProfile(R"({"batch_latency_ms": {"0": 5}})", "f.json").status().message(),
            "f.json: batch_latency_ms.0: batch size must be >= 1 and latency from 0 to 3600000 "
            "ms (an hour)");
  // 1e13 ms overflowed the simulator's nanosecond clock into a latency of 0.
  for (const char* ms : {"1e13", "3600000.5", "-1"}) {
    EXPECT_EQ(ParseServiceProfile(absl::StrCat(R"({"batch_latency_ms": {"1": )", ms, "}}"), "f")
                  .status()
                  .message(),
              "f: batch_latency_ms.1: batch size must be >= 1 and latency from 0 to 3600000 ms "
              "(an hour)")
        << ms;
  }
  EXPECT_TRUE(ParseServiceProfile(R"({"batch_latency_ms": {"1": 3600000}})", "f").ok());
  EXPECT_EQ(ParseServiceProfile(R"({"tool": "tide load", "levels": [{"server": null}]})", "s")
                .status()
                .message(),
            "s: no level has a server breakdown (run tide load with --metrics-url against one "
            "replica)");
  EXPECT_EQ(ParseServiceProfile(R"({"x": 1})", "f").status().message(),
            "f: want {\"batch_latency_ms\": {\"1\": ms, ...}} or the JSON of tide load");
}

}  // namespace
}  // namespace tide::sim
