#include "workload/interval_arrivals.h"

#include "gtest/gtest.h"

namespace tide::workload {
namespace {

std::vector<double> All(ArrivalProcess* a) {
  std::vector<double> out;
  while (auto d = a->Next()) out.push_back(absl::ToDoubleSeconds(*d));
  return out;
}

Trace Rows() {
  TraceParseOptions o;
  o.spread_intervals = false;
  auto t = ParseTrace("start_s,count\n0,3\n10,0\n20,5\n30,2\n", o);
  EXPECT_TRUE(t.ok());
  EXPECT_TRUE(t->arrivals_s.empty());  // rows only
  return *t;
}

TEST(IntervalArrivals, SpreadsEachRowInsideItsIntervalInOrder) {
  auto a = StreamIntervals(Rows(), {});
  ASSERT_TRUE(a.ok());
  std::vector<double> t = All(a->get());
  ASSERT_EQ(t.size(), 10u);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  EXPECT_EQ(std::count_if(t.begin(), t.end(), [](double x) { return x < 10; }), 3);
  EXPECT_EQ(std::count_if(t.begin(), t.end(), [](double x) { return x >= 20 && x < 30; }), 5);
  EXPECT_EQ(std::count_if(t.begin(), t.end(), [](double x) { return x >= 30 && x < 40; }), 2);
  // A clone repeats the sequence.
  auto b = (*a)->Clone();
  EXPECT_EQ(All(b.get()), t);
}

TEST(IntervalArrivals, WindowsScalesAndThickensAsReplayOffsetsDoes) {
  TraceReplayOptions o;
  o.start_s = 20;
  o.duration_s = 10;
  o.time_scale = 0.5;
  o.rate_scale = 3;
  auto a = StreamIntervals(Rows(), o);
  ASSERT_TRUE(a.ok());
  std::vector<double> t = All(a->get());
  ASSERT_EQ(t.size(), 15u);  // the row at 20 s, three times
  EXPECT_GE(t.front(), 0);
  EXPECT_LT(t.back(), 5);  // (30 - 20) x 0.5
  o.rate_scale = 0;
  EXPECT_EQ(StreamIntervals(Rows(), o).status().message(), "time and rate scales must be > 0");
}

TEST(IntervalArrivals, AnIntervalTraceStillSpreadsByDefault) {
  auto t = ParseTrace("start_s,count\n0,3\n10,2\n", {});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->arrivals_s.size(), 5u);
}

// Found by an outside-in probe: one interval of 1e11 requests made tide sim
// and tide load allocate until the machine ran out of memory, and far-future
// offsets overflowed the nanosecond clocks.
TEST(IntervalArrivals, RowsTooLargeToHoldAndWindowsTooLongAreRefused) {
  TraceParseOptions rows_only;
  rows_only.spread_intervals = false;
  auto huge = ParseTrace("start_s,count\n0,100000000000\n", rows_only);
  ASSERT_TRUE(huge.ok()) << huge.status();
  TraceReplayOptions o;
  o.duration_s = 1;
  EXPECT_EQ(StreamIntervals(*huge, o).status().message(),
            "the interval starting at 0 s holds 100000000000 requests; at rate scale 1 that is "
            "more than the 100000000 one interval may hold");
  // A row at the bound is held; thickened past it, it is not.
  auto at_bound = ParseTrace("start_s,count\n0,100000000\n", rows_only);
  ASSERT_TRUE(at_bound.ok());
  EXPECT_TRUE(StreamIntervals(*at_bound, {}).ok());
  o.rate_scale = 1.5;
  EXPECT_FALSE(StreamIntervals(*at_bound, o).ok());
  // Requests ten thousand years on: refused unless the window leaves them out.
  auto far = ParseTrace("start_s,count\n0,1\n60,0\n1e11,1\n", rows_only);
  ASSERT_TRUE(far.ok());
  EXPECT_EQ(StreamIntervals(*far, {}).status().message(),
            "the window's requests span 2e+11 s of replay, more than a year: set the window's "
            "start and duration (or the time scale) to the part of the trace to replay");
  TraceReplayOptions first_day;
  first_day.duration_s = 86400;
  auto a = StreamIntervals(*far, first_day);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(All(a->get()).size(), 1u);
}

}  // namespace
}  // namespace tide::workload
