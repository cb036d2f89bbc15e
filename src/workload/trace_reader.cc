#include "workload/trace_reader.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/time/time.h"
#include "common/text.h"
#include "nlohmann/json.hpp"

namespace tide::workload {

using common::Cat;
using common::ParseDouble;
using common::Split;
using common::Trim;
using common::TrimLeft;

namespace {

double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view line : Split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  for (std::string_view f : Split(line, ',')) out.push_back(Trim(f));
  return out;
}

int ColumnOf(const std::vector<std::string_view>& header, std::string_view name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

absl::Status LineError(size_t line_no, std::string_view what) {
  return absl::InvalidArgumentError(Cat("trace line ", line_no, ": ", what));
}

// TraceParseOptions::require_sorted: `t` (seconds) of line `line_no` must be
// >= 0 and >= the previous row's `*previous`.
absl::Status CheckOrder(double t, size_t line_no, std::string_view column, double* previous) {
  if (t < 0) return LineError(line_no, Cat(column, " ", t, " is negative"));
  if (t < *previous) {
    return LineError(line_no, Cat(column, " ", t, " is before the previous row's ", *previous,
                                  " (the trace must be sorted by time)"));
  }
  *previous = t;
  return absl::OkStatus();
}

// Interval traces: the largest count (2^53, the last of the consecutive
// integers a double holds) and start (about 31.7 million years).
constexpr double kMaxCount = 9007199254740992.0;
constexpr double kMaxStartSeconds = 1e15;

// A header line as an error message may show it: printable ASCII as it is,
// other bytes as \xNN (a binary file's bytes would reach the terminal), and
// at most 80 of them.
std::string Shown(std::string_view line) {
  std::string out;
  for (size_t i = 0; i < line.size() && i < 80; ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    }
  }
  if (line.size() > 80) out += "...";
  return out;
}

absl::StatusOr<Trace> ParseCsv(const std::vector<std::string_view>& lines, TraceFormat format,
                               uint64_t seed, bool require_sorted, bool spread_intervals) {
  double previous = 0;
  size_t first = 0;
  while (first < lines.size() && Trim(lines[first]).empty()) ++first;
  if (first == lines.size()) return absl::InvalidArgumentError("trace is empty");
  std::vector<std::string_view> header = Fields(lines[first]);
  int ts_col = ColumnOf(header, "timestamp_s");
  int start_col = ColumnOf(header, "start_s");
  int count_col = ColumnOf(header, "count");
  int azure_col = ColumnOf(header, "TIMESTAMP");
  if (format == TraceFormat::kAuto) {
    if (ts_col >= 0) {
      format = TraceFormat::kRequests;
    } else if (start_col >= 0 && count_col >= 0) {
      format = TraceFormat::kIntervals;
    } else if (azure_col >= 0) {
      format = TraceFormat::kAzureRaw;
    } else {
      return absl::InvalidArgumentError(
          Cat("trace header '", Shown(lines[first]),
              "' has none of timestamp_s, start_s+count or TIMESTAMP columns"));
    }
  }
  int need = format == TraceFormat::kRequests   ? ts_col
             : format == TraceFormat::kAzureRaw ? azure_col
                                                : std::min(start_col, count_col);
  if (need < 0) {
    return absl::InvalidArgumentError(Cat("trace header '", Shown(lines[first]),
                                          "' lacks the columns of format ",
                                          TraceFormatName(format)));
  }
  Trace trace;
  trace.format = format;
  std::optional<absl::Time> azure_origin;
  for (size_t i = first + 1; i < lines.size(); ++i) {
    if (Trim(lines[i]).empty()) continue;
    std::vector<std::string_view> f = Fields(lines[i]);
    auto field = [&](int col) -> std::string_view {
      return col < static_cast<int>(f.size()) ? f[col] : std::string_view();
    };
    if (format == TraceFormat::kRequests) {
      double t;
      if (!ParseDouble(field(ts_col), &t) || !std::isfinite(t)) {
        return LineError(i + 1, Cat("bad timestamp_s '", field(ts_col), "'"));
      }
      if (require_sorted) {
        if (absl::Status st = CheckOrder(t, i + 1, "timestamp_s", &previous); !st.ok()) return st;
      }
      trace.arrivals_s.push_back(t);
    } else if (format == TraceFormat::kAzureRaw) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", std::string(field(azure_col)),
                           absl::UTCTimeZone(), &t, &err)) {
        return LineError(i + 1, Cat("bad TIMESTAMP '", field(azure_col), "': ", err));
      }
      if (!azure_origin) azure_origin = t;
      trace.arrivals_s.push_back(absl::ToDoubleSeconds(t - *azure_origin));
    } else {
      TraceInterval row;
      double count;
      if (!ParseDouble(field(start_col), &row.start_s) || !std::isfinite(row.start_s)) {
        return LineError(i + 1, Cat("bad start_s '", field(start_col), "'"));
      }
      // Bounded so that widths and the arrivals spread over them stay finite.
      if (std::abs(row.start_s) > kMaxStartSeconds) {
        return LineError(
            i + 1, Cat("start_s '", field(start_col), "' is out of range (-1e15 to 1e15 seconds)"));
      }
      if (require_sorted) {
        if (absl::Status st = CheckOrder(row.start_s, i + 1, "start_s", &previous); !st.ok()) {
          return st;
        }
      }
      if (!ParseDouble(field(count_col), &count) || !(count >= 0) || count != std::floor(count)) {
        return LineError(i + 1, Cat("bad count '", field(count_col), "'"));
      }
      if (count > kMaxCount) {  // also infinity; beyond it the cast is undefined
        return LineError(i + 1, Cat("bad count '", field(count_col),
                                    "' (a whole number from 0 to 9007199254740992)"));
      }
      row.count = static_cast<int64_t>(count);
      if (!trace.intervals.empty() && row.start_s <= trace.intervals.back().start_s) {
        return LineError(i + 1, "start_s must increase");
      }
      trace.intervals.push_back(row);
    }
  }
  if (format == TraceFormat::kIntervals) {
    auto& rows = trace.intervals;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i + 1 < rows.size()) {
        rows[i].width_s = rows[i + 1].start_s - rows[i].start_s;
      } else {
        rows[i].width_s = i > 0 ? rows[i - 1].width_s : 1.0;
      }
    }
    if (spread_intervals) {
      int64_t total = 0;
      // Each count is at most 2^53; held at 2^62, the sum cannot overflow.
      for (const TraceInterval& row : rows) total = std::min(total + row.count, int64_t{1} << 62);
      if (total > kMaxReplayRequests) {
        return absl::InvalidArgumentError(Cat("the trace's intervals hold ", total,
                                              " requests, more than the ", kMaxReplayRequests,
                                              " one replay can hold; stream it instead"));
      }
    }
    std::mt19937_64 rng(seed);
    for (size_t r = 0; spread_intervals && r < rows.size(); ++r) {
      const TraceInterval& row = rows[r];
      size_t from = trace.arrivals_s.size();
      for (int64_t k = 0; k < row.count; ++k) {
        trace.arrivals_s.push_back(row.start_s + Uniform01(rng) * row.width_s);
      }
      std::sort(trace.arrivals_s.begin() + from, trace.arrivals_s.end());
    }
  }
  std::stable_sort(trace.arrivals_s.begin(), trace.arrivals_s.end());
  return trace;
}

absl::StatusOr<Trace> ParseJsonl(const std::vector<std::string_view>& lines, bool require_sorted) {
  double previous = 0;
  Trace trace;
  trace.format = TraceFormat::kMooncakeJsonl;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (Trim(lines[i]).empty()) continue;
    nlohmann::json row = nlohmann::json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded() || !row.is_object()) return LineError(i + 1, "not a JSON object");
    auto it = row.find("timestamp");
    if (it == row.end() || !it->is_number()) return LineError(i + 1, "no numeric 'timestamp'");
    if (require_sorted) {
      if (absl::Status st = CheckOrder(it->get<double>(), i + 1, "timestamp", &previous);
          !st.ok()) {
        return st;
      }
    }
    trace.arrivals_s.push_back(it->get<double>() / 1000.0);
  }
  std::stable_sort(trace.arrivals_s.begin(), trace.arrivals_s.end());
  return trace;
}

}  // namespace

absl::StatusOr<TraceFormat> ParseTraceFormat(std::string_view name) {
  if (name == "auto") return TraceFormat::kAuto;
  if (name == "requests") return TraceFormat::kRequests;
  if (name == "intervals") return TraceFormat::kIntervals;
  if (name == "jsonl") return TraceFormat::kMooncakeJsonl;
  if (name == "azure") return TraceFormat::kAzureRaw;
  return absl::InvalidArgumentError(
      Cat("unknown trace format '", name, "' (auto, requests, intervals, jsonl, azure)"));
}

std::string_view TraceFormatName(TraceFormat format) {
  switch (format) {
    case TraceFormat::kAuto:
      return "auto";
    case TraceFormat::kRequests:
      return "requests";
    case TraceFormat::kIntervals:
      return "intervals";
    case TraceFormat::kMooncakeJsonl:
      return "jsonl";
    case TraceFormat::kAzureRaw:
      return "azure";
  }
  return "?";
}

absl::StatusOr<Trace> ParseTrace(std::string_view text, const TraceParseOptions& options) {
  std::vector<std::string_view> lines = Lines(text);
  TraceFormat format = options.format;
  if (format == TraceFormat::kAuto) {
    std::string_view head = TrimLeft(text);
    if (!head.empty() && head.front() == '{') format = TraceFormat::kMooncakeJsonl;
  }
  if (format == TraceFormat::kMooncakeJsonl) return ParseJsonl(lines, options.require_sorted);
  return ParseCsv(lines, format, options.seed, options.require_sorted, options.spread_intervals);
}

absl::StatusOr<Trace> ReadTrace(const std::string& path, const TraceParseOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(Cat("cannot read trace '", path, "'"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::StatusOr<Trace> trace = ParseTrace(buffer.str(), options);
  if (!trace.ok()) {
    return absl::InvalidArgumentError(Cat(path, ": ", trace.status().message()));
  }
  return trace;
}

absl::StatusOr<std::vector<double>> ReplayOffsets(const Trace& trace,
                                                  const TraceReplayOptions& options) {
  if (!(options.time_scale > 0) || !(options.rate_scale > 0)) {
    return absl::InvalidArgumentError("time and rate scales must be > 0");
  }
  if (options.duration_s && !(*options.duration_s > 0)) {
    return absl::InvalidArgumentError("trace window duration must be > 0");
  }
  const double begin = options.start_s;
  const double end = options.duration_s ? begin + *options.duration_s : INFINITY;
  const std::vector<double>& a = trace.arrivals_s;
  auto lo = std::lower_bound(a.begin(), a.end(), begin);
  auto hi = std::lower_bound(a.begin(), a.end(), end);
  std::vector<double> window(lo, hi);
  if (static_cast<double>(window.size()) * std::ceil(options.rate_scale) >
      static_cast<double>(kMaxReplayRequests)) {
    return absl::InvalidArgumentError(
        Cat("the window holds ", window.size(), " requests; at rate scale ", options.rate_scale,
            " that is more than the ", kMaxReplayRequests,
            " one replay can hold: pick a shorter window or a smaller scale"));
  }

  std::vector<double> scaled;
  if (options.rate_scale == 1.0) {
    scaled = std::move(window);
  } else {
    std::mt19937_64 rng(options.seed);
    const double whole = std::floor(options.rate_scale);
    const double frac = options.rate_scale - whole;
    for (size_t i = 0; i < window.size(); ++i) {
      const double t = window[i];
      const double next = i + 1 < window.size() ? window[i + 1] : std::min(end, t);
      int64_t copies = static_cast<int64_t>(whole) + (Uniform01(rng) < frac ? 1 : 0);
      for (int64_t c = 0; c < copies; ++c) {
        scaled.push_back(c == 0 ? t : t + Uniform01(rng) * (next - t));
      }
    }
    std::sort(scaled.begin(), scaled.end());
  }
  for (double& t : scaled) t = (t - begin) * options.time_scale;
  if (!scaled.empty() && !(scaled.back() <= kMaxReplaySeconds)) {
    return absl::InvalidArgumentError(
        Cat("a request in the window comes ", scaled.back(),
            " s after the replay's start, more than a year: set the window's start and "
            "duration (or the time scale) to the part of the trace to replay"));
  }
  return scaled;
}

}  // namespace tide::workload
