#pragma once

// An interval trace's arrivals, streamed: one row at a time, each row's
// `count` spread as uniform, seeded points over its interval (as ParseTrace
// does, not the same draws), then windowed, thinned or thickened and sped up
// as ReplayOffsets does. Memory holds one row's arrivals, never the trace's:
// a 14-day trace of 237 M requests replays in a few MB (`tide sim`).

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "workload/arrivals.h"
#include "workload/trace_reader.h"

namespace tide::workload {

class IntervalArrivals final : public ArrivalProcess {
 public:
  // `rows` as Trace::intervals (start ascending, widths set).
  IntervalArrivals(std::shared_ptr<const std::vector<TraceInterval>> rows,
                   const TraceReplayOptions& options);
  std::optional<absl::Duration> Next() override;
  std::unique_ptr<ArrivalProcess> Clone() const override;

 private:
  bool Refill();  // the next row's arrivals into buffer_; false at the end

  std::shared_ptr<const std::vector<TraceInterval>> rows_;
  TraceReplayOptions options_;
  std::mt19937_64 rng_;
  size_t row_ = 0;
  std::vector<double> buffer_;  // one row's replay offsets, ascending
  size_t next_ = 0;
};

// Checks the options as ReplayOffsets does, then streams `trace.intervals`.
absl::StatusOr<std::unique_ptr<ArrivalProcess>> StreamIntervals(const Trace& trace,
                                                                const TraceReplayOptions& options);

}  // namespace tide::workload
