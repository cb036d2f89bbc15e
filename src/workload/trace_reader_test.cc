#include "workload/trace_reader.h"

#include <cmath>
#include <fstream>

#include "gtest/gtest.h"

namespace tide::workload {
namespace {

Trace MustParse(std::string_view text, TraceFormat format = TraceFormat::kAuto, uint64_t seed = 1) {
  auto t = ParseTrace(text, {format, seed});
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Trace();
}

TEST(ParseTrace, RequestsCsvIgnoresExtraColumnsAndSorts) {
  Trace t = MustParse(
      "timestamp_s,input_tokens,output_tokens\n0.000000,374,44\n4.314579,396,109\r\n"
      "2.5,1,1\n\n");
  EXPECT_EQ(t.format, TraceFormat::kRequests);
  EXPECT_EQ(t.arrivals_s, (std::vector<double>{0.0, 2.5, 4.314579}));
  EXPECT_TRUE(t.intervals.empty());
}

TEST(ParseTrace, TimestampColumnNeedNotBeFirst) {
  Trace t = MustParse("id,timestamp_s\na,1.5\nb,0.5\n");
  EXPECT_EQ(t.arrivals_s, (std::vector<double>{0.5, 1.5}));
}

TEST(ParseTrace, IntervalsSpreadExactCountsInsideEachInterval) {
  Trace t = MustParse("start_s,count,functions_invoked\n0,3,1\n60,0,0\n120,5,2\n");
  EXPECT_EQ(t.format, TraceFormat::kIntervals);
  ASSERT_EQ(t.intervals.size(), 3u);
  EXPECT_EQ(t.intervals[0].width_s, 60);
  EXPECT_EQ(t.intervals[2].width_s, 60);  // last reuses the previous width
  ASSERT_EQ(t.arrivals_s.size(), 8u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(t.arrivals_s[i], 0);
    EXPECT_LT(t.arrivals_s[i], 60);
  }
  for (int i = 3; i < 8; ++i) {
    EXPECT_GE(t.arrivals_s[i], 120);
    EXPECT_LT(t.arrivals_s[i], 180);
  }
  EXPECT_TRUE(std::is_sorted(t.arrivals_s.begin(), t.arrivals_s.end()));
  // Seeded: same seed, same arrivals; another seed, others.
  EXPECT_EQ(MustParse("start_s,count\n0,3\n60,0\n120,5\n").arrivals_s, t.arrivals_s);
  EXPECT_NE(MustParse("start_s,count\n0,3\n60,0\n120,5\n", TraceFormat::kAuto, 2).arrivals_s,
            t.arrivals_s);
}

TEST(ParseTrace, IntervalSpreadIsUniformWithinInterval) {
  Trace t = MustParse("start_s,count\n0,100000\n1,0\n");
  double mean = 0;
  for (double a : t.arrivals_s) mean += a;
  mean /= t.arrivals_s.size();
  EXPECT_NEAR(mean, 0.5, 0.005);  // uniform on [0,1): sd of mean 0.0009
}

TEST(ParseTrace, MooncakeJsonlTimestampsAreMilliseconds) {
  Trace t = MustParse(
      "{\"timestamp\": 0, \"input_length\": 6758, \"hash_ids\": [0, 1]}\n"
      "{\"timestamp\": 1500, \"input_length\": 1}\n"
      "{\"timestamp\": 250, \"input_length\": 1}\n");
  EXPECT_EQ(t.format, TraceFormat::kMooncakeJsonl);
  EXPECT_EQ(t.arrivals_s, (std::vector<double>{0.0, 0.25, 1.5}));
}

TEST(ParseTrace, AzureRawTimestampsRelativeToFirstRow) {
  Trace t = MustParse(
      "TIMESTAMP,ContextTokens,GeneratedTokens\n"
      "2023-11-16 18:15:46.6805900,374,44\n"
      "2023-11-16 18:15:50.9951690,396,109\n");
  EXPECT_EQ(t.format, TraceFormat::kAzureRaw);
  ASSERT_EQ(t.arrivals_s.size(), 2u);
  EXPECT_EQ(t.arrivals_s[0], 0.0);
  EXPECT_NEAR(t.arrivals_s[1], 4.314579, 1e-6);
}

TEST(ParseTrace, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"", "empty"},
      {"a,b\n1,2\n", "timestamp_s"},
      {"timestamp_s\n0.5\nabc\n", "line 3"},
      {"start_s,count\n0,1.5\n", "bad count"},
      {"start_s,count\n10,1\n5,1\n", "must increase"},
      {"{\"timestamp\": 1}\n{\"ts\": 2}\n", "line 2"},
      {"{\"timestamp\": 1}\nnot json\n", "line 2"},
  };
  for (const Case& c : cases) {
    auto t = ParseTrace(c.text, {});
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(c.want), std::string::npos) << t.status();
  }
}

// Found while writing fuzz/trace_fuzz.cc (whose finite-arrivals check covers it): a
// count too large for int64 was cast anyway (undefined behaviour), and starts
// far apart gave interval widths, and so arrivals, of infinity or NaN.
TEST(ParseTrace, IntervalCountsAndStartsOutOfRangeAreRefused) {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case cases[] = {
      {"start_s,count\n0,1e300\n",
       "trace line 2: bad count '1e300' (a whole number from 0 to 9007199254740992)"},
      {"start_s,count\n0,inf\n",
       "trace line 2: bad count 'inf' (a whole number from 0 to 9007199254740992)"},
      {"start_s,count\n-1e308,1\n1e308,1\n",
       "trace line 2: start_s '-1e308' is out of range (-1e15 to 1e15 seconds)"},
      {"start_s,count\n0,1\n1e16,1\n",
       "trace line 3: start_s '1e16' is out of range (-1e15 to 1e15 seconds)"},
  };
  for (const Case& c : cases) {
    auto t = ParseTrace(c.text, {});
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(t.status().message(), c.want);
  }
  TraceParseOptions rows_only;
  rows_only.spread_intervals = false;
  auto edge = ParseTrace("start_s,count\n-1e15,0\n1e15,9007199254740992\n", rows_only);
  ASSERT_TRUE(edge.ok()) << edge.status();
  ASSERT_EQ(edge->intervals.size(), 2u);
  EXPECT_EQ(edge->intervals[1].count, int64_t{9007199254740992});
  EXPECT_EQ(edge->intervals[1].width_s, 2e15);
}

TEST(ParseTrace, ExplicitFormatMustMatchHeader) {
  EXPECT_FALSE(ParseTrace("timestamp_s\n1\n", {TraceFormat::kIntervals, 1}).ok());
  EXPECT_TRUE(ParseTrace("timestamp_s\n1\n", {TraceFormat::kRequests, 1}).ok());
}

TEST(ReplayOffsets, WindowAndTimeScale) {
  Trace t;
  t.arrivals_s = {0, 10, 20, 30, 40, 50};
  TraceReplayOptions o;
  o.start_s = 10;
  o.duration_s = 30;  // [10, 40)
  o.time_scale = 0.1;
  auto got = ReplayOffsets(t, o);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_DOUBLE_EQ((*got)[0], 0.0);
  EXPECT_DOUBLE_EQ((*got)[1], 1.0);
  EXPECT_DOUBLE_EQ((*got)[2], 2.0);
}

TEST(ReplayOffsets, RateScaleThinsAndThickensBySeededCopies) {
  Trace t;
  for (int i = 0; i < 10000; ++i) t.arrivals_s.push_back(i * 0.01);
  TraceReplayOptions o;
  o.rate_scale = 0.5;
  auto half = ReplayOffsets(t, o);
  ASSERT_TRUE(half.ok());
  EXPECT_NEAR(static_cast<double>(half->size()), 5000, 200);  // binomial sd 50
  o.rate_scale = 3.0;
  auto triple = ReplayOffsets(t, o);
  ASSERT_TRUE(triple.ok());
  EXPECT_EQ(triple->size(), 30000u);  // whole factor: exact
  EXPECT_TRUE(std::is_sorted(triple->begin(), triple->end()));
  EXPECT_EQ(*ReplayOffsets(t, o), *triple);  // seeded
  o.rate_scale = 2.5;
  auto two_half = ReplayOffsets(t, o);
  EXPECT_NEAR(static_cast<double>(two_half->size()), 25000, 250);
  EXPECT_LE(two_half->back(), t.arrivals_s.back());
}

TEST(ReplayOffsets, RejectsBadScales) {
  Trace t;
  TraceReplayOptions o;
  o.time_scale = 0;
  EXPECT_FALSE(ReplayOffsets(t, o).ok());
  o.time_scale = 1;
  o.rate_scale = -1;
  EXPECT_FALSE(ReplayOffsets(t, o).ok());
}

// The traces shipped in examples/traces parse to the row counts its README
// states: one file per format tide load auto-detects there (the Mooncake JSONL
// format is not shipped; ParseTrace.MooncakeJsonlTimestampsAreMilliseconds
// covers it). The files are part of the repository, so a missing one fails.
TEST(ReadTrace, ExampleTracesHaveTheirDocumentedRowCounts) {
  struct Case {
    std::string path;
    TraceFormat format;
    size_t rows;
  };
  const std::string root = TIDE_EXAMPLE_TRACES;
  const Case cases[] = {
      {root + "/derived/azure_llm_2023_conv_requests.csv", TraceFormat::kRequests, 19366},
      {root + "/derived/azure_llm_2023_conv_per_second.csv", TraceFormat::kIntervals, 19366},
      {root + "/derived/mooncake_conversation_requests.csv", TraceFormat::kRequests, 12031},
      {root + "/azure_llm_2023/AzureLLMInferenceTrace_code.csv", TraceFormat::kAzureRaw, 8819},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(std::ifstream(c.path).good()) << "missing from the repository: " << c.path;
    auto t = ReadTrace(c.path, {});
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->format, c.format) << c.path;
    EXPECT_EQ(t->arrivals_s.size(), c.rows) << c.path;
  }
  EXPECT_EQ(ReadTrace("/nonexistent/trace.csv", {}).status().code(), absl::StatusCode::kNotFound);
}

TEST(ParseTrace, RequireSortedNamesTheLineOfAnUnsortedOrNegativeTimestamp) {
  TraceParseOptions o;
  o.require_sorted = true;
  EXPECT_EQ(ParseTrace("timestamp_s\n0.5\n1.5\n1.0\n", o).status().message(),
            "trace line 4: timestamp_s 1 is before the previous row's 1.5 (the trace must be "
            "sorted by time)");
  EXPECT_EQ(ParseTrace("timestamp_s\n-2\n", o).status().message(),
            "trace line 2: timestamp_s -2 is negative");
  EXPECT_EQ(ParseTrace("start_s,count\n-1,4\n", o).status().message(),
            "trace line 2: start_s -1 is negative");
  EXPECT_EQ(ParseTrace("{\"timestamp\": 5}\n{\"timestamp\": 3}\n", o).status().message(),
            "trace line 2: timestamp 3 is before the previous row's 5 (the trace must be sorted "
            "by time)");
  auto ok = ParseTrace("timestamp_s\n0\n0\n2.5\n", o);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->arrivals_s, (std::vector<double>{0, 0, 2.5}));
  // Without it, rows are sorted, as before.
  EXPECT_EQ(ParseTrace("timestamp_s\n2\n1\n", {})->arrivals_s, (std::vector<double>{1, 2}));
}

// What one replay holds is bounded (kMaxReplayRequests, kMaxReplaySeconds):
// a far-future timestamp used to overflow tide load's nanosecond offsets (the
// request was sent at once and left out of the report).
TEST(ReplayOffsets, RefusesWindowsTooLargeOrTooLongToReplay) {
  Trace far = MustParse("timestamp_s\n0\n1e10\n");
  EXPECT_EQ(
      std::string(ReplayOffsets(far, {}).status().message()),
      "a request in the window comes 10000000000 s after the replay's start, more than a year: "
      "set the window's start and duration (or the time scale) to the part of the trace to "
      "replay");
  TraceReplayOptions window;
  window.duration_s = 60;
  auto first = ReplayOffsets(far, window);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, std::vector<double>{0});
  TraceReplayOptions thick;
  thick.rate_scale = 1e9;
  EXPECT_EQ(std::string(ReplayOffsets(MustParse("timestamp_s\n0\n1\n"), thick).status().message()),
            "the window holds 2 requests; at rate scale 1000000000 that is more than the 100000000 "
            "one replay can hold: pick a shorter window or a smaller scale");
  // Spreading an interval trace holds all of it: bounded too.
  EXPECT_EQ(
      std::string(ParseTrace("start_s,count\n0,60000000\n60,60000000\n", {}).status().message()),
      "the trace's intervals hold 120000000 requests, more than the 100000000 one replay "
      "can hold; stream it instead");
}

// A header of a file that is not a trace is shown escaped and cut: its raw
// bytes used to reach the terminal.
TEST(ParseTrace, AnUnknownHeaderIsShownEscapedAndCut) {
  EXPECT_EQ(std::string(ParseTrace(std::string("\x06\xd1"
                                               "ab,c\n1,2\n"),
                                   {})
                            .status()
                            .message()),
            "trace header '\\x06\\xd1ab,c' has none of timestamp_s, start_s+count or TIMESTAMP "
            "columns");
  EXPECT_EQ(std::string(ParseTrace(std::string(100, 'x') + "\n1\n", {}).status().message()),
            "trace header '" + std::string(80, 'x') +
                "...' has none of timestamp_s, start_s+count or TIMESTAMP columns");
}

}  // namespace
}  // namespace tide::workload
