#include "loadgen/sweep.h"

#include "gtest/gtest.h"

namespace tide::loadgen {
namespace {

TEST(ParseSweep, Table) {
  struct Case {
    const char* spec;
    bool integer;
    std::vector<double> want;
  };
  const Case cases[] = {
      {"8", true, {8}},
      {"1:64", true, {1, 2, 4, 8, 16, 32, 64}},
      {"1:64:x2", true, {1, 2, 4, 8, 16, 32, 64}},
      {"1:50:x2", true, {1, 2, 4, 8, 16, 32, 50}},
      {"1:10:x1.5", true, {1, 2, 3, 5, 8, 10}},
      {"100:400:+100", false, {100, 200, 300, 400}},
      {"100:350:+100", false, {100, 200, 300, 350}},
      {"2.5:10:x2", false, {2.5, 5, 10}},
      {"5:5", true, {5}},
  };
  for (const Case& c : cases) {
    auto got = ParseSweep(c.spec, c.integer);
    ASSERT_TRUE(got.ok()) << c.spec << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.spec;
  }
}

TEST(ParseSweep, RejectsBadSpecs) {
  for (const char* spec :
       {"", "0", "-1", "a", "1:b", "4:2", "1:8:x1", "1:8:*2", "1:8:+0", "1:2:3:4", "1.5"}) {
    EXPECT_FALSE(ParseSweep(spec, /*integer=*/true).ok()) << spec;
  }
}

TEST(ShouldStopSweep, ClosedLoopStopsWhenThroughputStopsGrowing) {
  struct Case {
    std::vector<double> throughputs;
    int patience;
    bool stop;
  };
  const Case cases[] = {
      {{100}, 1, false},
      {{100, 190}, 1, false},
      {{100, 190, 198}, 1, true},        // +4.2 % < 5 %
      {{100, 190, 200}, 1, false},       // +5.3 %
      {{100, 190, 198}, 2, false},       // one stalled level, patience 2
      {{100, 190, 198, 195}, 2, true},   // two in a row
      {{100, 190, 198, 260}, 2, false},  // grew again
      {{100, 90}, 1, true},              // fell
  };
  for (const Case& c : cases) {
    std::vector<LevelOutcome> levels;
    for (double t : c.throughputs) levels.push_back({0, t, 0});
    SweepRule rule;
    rule.patience = c.patience;
    EXPECT_EQ(ShouldStopSweep(levels, rule), c.stop) << ::testing::PrintToString(c.throughputs);
  }
}

TEST(ShouldStopSweep, OpenLoopStopsWhenServerFallsBehindOrErrs) {
  SweepRule rule;
  EXPECT_FALSE(ShouldStopSweep({{100, 99.5, 0}}, rule));
  EXPECT_FALSE(ShouldStopSweep({{100, 95.0, 0}}, rule));
  EXPECT_TRUE(ShouldStopSweep({{100, 94.9, 0}}, rule));
  EXPECT_TRUE(ShouldStopSweep({{100, 100, 0.06}}, rule));
  EXPECT_FALSE(ShouldStopSweep({}, rule));
}

}  // namespace
}  // namespace tide::loadgen
