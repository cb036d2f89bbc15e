#include "workload/interval_arrivals.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace tide::workload {
namespace {

double Uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
}

}  // namespace

IntervalArrivals::IntervalArrivals(std::shared_ptr<const std::vector<TraceInterval>> rows,
                                   const TraceReplayOptions& options)
    : rows_(std::move(rows)), options_(options), rng_(options.seed) {}

bool IntervalArrivals::Refill() {
  const double begin = options_.start_s;
  const double end = options_.duration_s ? begin + *options_.duration_s : INFINITY;
  const double whole = std::floor(options_.rate_scale);
  const double frac = options_.rate_scale - whole;
  while (row_ < rows_->size()) {
    const TraceInterval& r = (*rows_)[row_++];
    if (r.start_s + r.width_s <= begin || r.count == 0) continue;
    if (r.start_s >= end) {
      row_ = rows_->size();
      return false;
    }
    buffer_.clear();
    next_ = 0;
    for (int64_t k = 0; k < r.count; ++k) {
      int64_t copies = static_cast<int64_t>(whole) + (Uniform(rng_) < frac ? 1 : 0);
      for (int64_t c = 0; c < copies; ++c) {
        double t = r.start_s + Uniform(rng_) * r.width_s;
        if (t >= begin && t < end) buffer_.push_back((t - begin) * options_.time_scale);
      }
    }
    if (buffer_.empty()) continue;
    std::sort(buffer_.begin(), buffer_.end());
    return true;
  }
  return false;
}

std::optional<absl::Duration> IntervalArrivals::Next() {
  if (next_ >= buffer_.size() && !Refill()) return std::nullopt;
  return absl::Nanoseconds(static_cast<int64_t>(std::llround(buffer_[next_++] * 1e9)));
}

std::unique_ptr<ArrivalProcess> IntervalArrivals::Clone() const {
  return std::make_unique<IntervalArrivals>(rows_, options_);
}

absl::StatusOr<std::unique_ptr<ArrivalProcess>> StreamIntervals(const Trace& trace,
                                                                const TraceReplayOptions& options) {
  if (!(options.time_scale > 0) || !(options.rate_scale > 0)) {
    return absl::InvalidArgumentError("time and rate scales must be > 0");
  }
  if (options.duration_s && !(*options.duration_s > 0)) {
    return absl::InvalidArgumentError("trace window duration must be > 0");
  }
  // Memory holds one row's arrivals, and replay offsets are nanoseconds: a
  // row too large for the one, or a window too long for the other, is
  // refused here rather than met halfway through a run.
  const double begin = options.start_s;
  const double end = options.duration_s ? begin + *options.duration_s : INFINITY;
  double last_end = begin;
  for (const TraceInterval& r : trace.intervals) {
    if (r.start_s + r.width_s <= begin || r.count == 0) continue;
    if (r.start_s >= end) break;
    if (static_cast<double>(r.count) * std::ceil(options.rate_scale) >
        static_cast<double>(kMaxReplayRequests)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the interval starting at ", r.start_s, " s holds ", r.count,
                       " requests; at rate scale ", options.rate_scale, " that is more than the ",
                       kMaxReplayRequests, " one interval may hold"));
    }
    last_end = std::min(end, r.start_s + r.width_s);
  }
  if (!((last_end - begin) * options.time_scale <= kMaxReplaySeconds)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the window's requests span ", (last_end - begin) * options.time_scale,
        " s of replay, more than a year: set the window's start and duration (or the time "
        "scale) to the part of the trace to replay"));
  }
  return std::make_unique<IntervalArrivals>(
      std::make_shared<const std::vector<TraceInterval>>(trace.intervals), options);
}

}  // namespace tide::workload
