// libFuzzer target: request-arrival traces (workload/trace_reader.h) from
// bytes, as `tide load --trace`, `tide sim` and `tide tune` read a user's
// file: requests CSV, intervals CSV, Mooncake JSONL and Azure CSV. The first
// byte picks the format (or auto) and require_sorted; the rest is the text.
// Any text must give a trace or InvalidArgument naming a line, never a
// crash; a trace's arrivals must be finite and ascending; an interval trace
// must spread exactly its counts (when they are few enough to spread here)
// and stream the same number of arrivals; replaying must keep order, or be
// refused for a replay longer than kMaxReplaySeconds.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "workload/interval_arrivals.h"
#include "workload/trace_reader.h"

namespace {

using tide::workload::TraceFormat;

constexpr TraceFormat kFormats[] = {TraceFormat::kAuto,      TraceFormat::kRequests,
                                    TraceFormat::kIntervals, TraceFormat::kMooncakeJsonl,
                                    TraceFormat::kAzureRaw,  TraceFormat::kAuto,
                                    TraceFormat::kAuto,      TraceFormat::kAuto};
constexpr int64_t kMostArrivals = 1 << 16;

bool Ascending(const std::vector<double>& v) {
  for (size_t i = 1; i < v.size(); ++i) {
    if (!(v[i - 1] <= v[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  tide::workload::TraceParseOptions options;
  options.format = kFormats[data[0] & 7];
  options.require_sorted = (data[0] & 8) != 0;
  options.spread_intervals = false;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  auto trace = tide::workload::ParseTrace(text, options);
  if (!trace.ok()) {
    if (!absl::IsInvalidArgument(trace.status()) || trace.status().message().empty()) {
      __builtin_trap();
    }
    return 0;
  }
  for (double t : trace->arrivals_s) {
    if (!std::isfinite(t)) __builtin_trap();
  }
  if (!Ascending(trace->arrivals_s)) __builtin_trap();

  if (trace->format == TraceFormat::kIntervals) {
    int64_t total = 0;
    for (const auto& row : trace->intervals) {
      if (row.count < 0 || !std::isfinite(row.width_s)) __builtin_trap();
      total += std::min<int64_t>(row.count, kMostArrivals + 1);
      if (total > kMostArrivals) break;
    }
    if (total > kMostArrivals) return 0;
    options.spread_intervals = true;
    auto spread = tide::workload::ParseTrace(text, options);
    if (!spread.ok() || static_cast<int64_t>(spread->arrivals_s.size()) != total) {
      __builtin_trap();
    }
    if (!Ascending(spread->arrivals_s)) __builtin_trap();
    tide::workload::TraceReplayOptions all;  // a window from the first row on
    if (!spread->intervals.empty()) all.start_s = spread->intervals.front().start_s;
    auto stream = tide::workload::StreamIntervals(*spread, all);
    if (!stream.ok()) {
      // Refused only for a replay longer than the bound (the rows are few
      // enough here for the per-row bound), and with a message.
      const auto& rows = spread->intervals;
      const double span =
          rows.empty() ? 0 : rows.back().start_s + rows.back().width_s - rows.front().start_s;
      if (!absl::IsInvalidArgument(stream.status()) || stream.status().message().empty() ||
          !(span > tide::workload::kMaxReplaySeconds)) {
        __builtin_trap();
      }
      return 0;
    }
    int64_t streamed = 0;
    while ((*stream)->Next()) {
      if (++streamed > total) __builtin_trap();
    }
    if (streamed != total) __builtin_trap();
    trace = std::move(spread);
  }

  if (trace->arrivals_s.size() <= 4096) {
    tide::workload::TraceReplayOptions replay;
    replay.rate_scale = 2.5;
    replay.time_scale = 0.5;
    if (!trace->arrivals_s.empty()) replay.start_s = trace->arrivals_s.front();
    auto offsets = tide::workload::ReplayOffsets(*trace, replay);
    if (!offsets.ok()) {
      // Refused only for a replay longer than the bound, and with a message.
      const double span = (trace->arrivals_s.back() - replay.start_s) * replay.time_scale;
      if (!absl::IsInvalidArgument(offsets.status()) || offsets.status().message().empty() ||
          !(span > tide::workload::kMaxReplaySeconds)) {
        __builtin_trap();
      }
    } else if (!Ascending(*offsets)) {
      __builtin_trap();
    }
  }
  return 0;
}
