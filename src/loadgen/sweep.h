#pragma once

// Sweeps over load levels (`--concurrency 1:64:x2`, `--rate 100:1000:+100`)
// and the rule that ends a sweep early. Pure.

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::loadgen {

// Parses "N" (one level), "A:B" (A..B doubling), "A:B:xF" (multiply by F > 1)
// or "A:B:+S" (add S > 0). Levels never exceed B; B itself is always the last
// level. With `integer` every level must be a positive integer.
absl::StatusOr<std::vector<double>> ParseSweep(std::string_view spec, bool integer);

// When to stop a sweep early.
//  Closed loop: throughput has stopped growing — `patience` consecutive levels
//  each failed to raise the best throughput seen so far by at least min_gain
//  (5 % by default).
//  Open loop: the server no longer keeps up — a level's completion rate fell
//  below (1 - max_shortfall) of its offered rate, or its errors exceeded
//  max_error_fraction of its requests.
struct SweepRule {
  double min_gain = 0.05;
  int patience = 1;
  double max_shortfall = 0.05;
  double max_error_fraction = 0.05;
};

struct LevelOutcome {
  double offered_rate = 0;    // open loop: requested rate; closed loop: 0
  double throughput = 0;      // successful responses per second
  double error_fraction = 0;  // failed / all
};

// True if the sweep should stop after the last entry of `levels` (the levels
// run so far, in order).
bool ShouldStopSweep(const std::vector<LevelOutcome>& levels, const SweepRule& rule);

}  // namespace tide::loadgen
