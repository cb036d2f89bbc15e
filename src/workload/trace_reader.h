#pragma once

// Readers for request-arrival traces such as those of examples/traces (and
// the project's trace format, docs/design.md), shared by `tide load` (replay)
// and `tide sim`. Pure: text in, arrival times out; seeded randomness only.
//
// Formats (auto-detected from the header / first character):
//   requests CSV   header with a `timestamp_s` column; one request per row,
//                  seconds. Other columns are ignored.
//   intervals CSV  header with `start_s` and `count`; one row per interval.
//                  An interval's width is the gap to the next row's start
//                  (the last row reuses the previous width). Its `count`
//                  arrivals are spread as a Poisson process conditioned on the
//                  count: `count` uniform, seeded points in [start, start+width).
//   Mooncake JSONL one JSON object per line with `timestamp` in milliseconds.
//   Azure raw CSV  header with `TIMESTAMP` (`YYYY-MM-DD hh:mm:ss.fffffff`, UTC);
//                  times are taken relative to the first row.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::workload {

enum class TraceFormat { kAuto, kRequests, kIntervals, kMooncakeJsonl, kAzureRaw };

// "auto", "requests", "intervals", "jsonl", "azure" → TraceFormat.
absl::StatusOr<TraceFormat> ParseTraceFormat(std::string_view name);
std::string_view TraceFormatName(TraceFormat format);

struct TraceInterval {
  double start_s = 0;
  double width_s = 0;
  int64_t count = 0;
};

// A parsed trace, before any window or scaling.
struct Trace {
  TraceFormat format = TraceFormat::kAuto;
  // Arrival times in seconds, sorted ascending. For interval traces these are
  // the spread arrivals (see above).
  std::vector<double> arrivals_s;
  // The rows of an interval trace as read (empty for per-request formats), for
  // users that want the rate itself (the simulator).
  std::vector<TraceInterval> intervals;
};

struct TraceParseOptions {
  TraceFormat format = TraceFormat::kAuto;
  uint64_t seed = 1;  // spreading arrivals inside intervals
  // Refuse, naming the line, a timestamp (or interval start) that is
  // negative or earlier than the previous row's, instead of sorting the rows
  // (`tide sim`: a trace that is out of order is more likely broken than
  // shuffled).
  bool require_sorted = false;
  // Interval traces: also spread their arrivals into `arrivals_s`. False keeps
  // only the rows (`intervals`), for IntervalArrivals to stream them: a big
  // trace then never holds all its arrivals at once.
  bool spread_intervals = true;
};

// Parses `text`. InvalidArgument names the line and the problem.
absl::StatusOr<Trace> ParseTrace(std::string_view text, const TraceParseOptions& options);
// Reads and parses a file. NotFound if it cannot be read.
absl::StatusOr<Trace> ReadTrace(const std::string& path, const TraceParseOptions& options);

// How a trace is replayed: cut a window, thin or thicken it, speed it up.
// What one replay may hold, so that an absurd trace or option is refused
// with a message instead of exhausting memory or overflowing the nanosecond
// clocks replays run on: at most this many requests held at once (a replay
// window's, or one interval row's when streamed), over at most a year.
inline constexpr int64_t kMaxReplayRequests = 100'000'000;
inline constexpr double kMaxReplaySeconds = 366.0 * 24 * 3600;

struct TraceReplayOptions {
  double start_s = 0;                // window start, in trace time
  std::optional<double> duration_s;  // window length, in trace time; none = to the end
  double rate_scale = 1.0;           // requests multiplied by this (seeded)
  double time_scale = 1.0;           // replay offset = (t - start_s) * time_scale
  uint64_t seed = 1;
};

// The replay offsets in seconds from the start of the replay, ascending.
// InvalidArgument past kMaxReplayRequests or kMaxReplaySeconds.
// rate_scale k: each request is kept floor(k) times, plus once more with
// probability frac(k); extra copies are placed uniformly between the request
// and the next one, so the shape of the trace is kept. InvalidArgument for a
// non-positive scale.
absl::StatusOr<std::vector<double>> ReplayOffsets(const Trace& trace,
                                                  const TraceReplayOptions& options);

}  // namespace tide::workload
