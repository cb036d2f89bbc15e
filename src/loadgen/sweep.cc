#include "loadgen/sweep.h"
#include "loadgen/text.h"

#include <cmath>
#include <string>

namespace tide::loadgen {
namespace {

absl::StatusOr<double> Number(std::string_view s, bool integer, std::string_view spec) {
  double v;
  if (!ParseDouble(s, &v) || !std::isfinite(v) || !(v > 0) || (integer && v != std::floor(v))) {
    return absl::InvalidArgumentError(Cat("bad level '", s, "' in '", spec, "': want a positive ",
                                          integer ? "integer" : "number"));
  }
  return v;
}

}  // namespace

absl::StatusOr<std::vector<double>> ParseSweep(std::string_view spec, bool integer) {
  std::vector<std::string_view> parts = Split(spec, ':');
  if (parts.size() > 3) {
    return absl::InvalidArgumentError(Cat("bad sweep '", spec, "': want A[:B[:xF|+S]]"));
  }
  absl::StatusOr<double> first = Number(parts[0], integer, spec);
  if (!first.ok()) return first.status();
  if (parts.size() == 1) return std::vector<double>{*first};
  absl::StatusOr<double> last = Number(parts[1], integer, spec);
  if (!last.ok()) return last.status();
  if (*last < *first) {
    return absl::InvalidArgumentError(Cat("bad sweep '", spec, "': end below start"));
  }
  bool multiply = true;
  double step = 2;
  if (parts.size() == 3) {
    std::string_view s = parts[2];
    if (s.empty() || (s[0] != 'x' && s[0] != '+')) {
      return absl::InvalidArgumentError(
          Cat("bad sweep step '", s, "' in '", spec, "': want xF or +S"));
    }
    multiply = s[0] == 'x';
    absl::StatusOr<double> v = Number(s.substr(1), integer && !multiply, spec);
    if (!v.ok()) return v.status();
    step = *v;
    if (multiply && step <= 1) {
      return absl::InvalidArgumentError(Cat("bad sweep '", spec, "': factor must be > 1"));
    }
  }
  std::vector<double> levels;
  for (double v = *first; v < *last * (1 - 1e-12);) {
    levels.push_back(v);
    double next = multiply ? v * step : v + step;
    if (integer) next = std::max(std::round(next), v + 1);
    v = next;
    if (levels.size() > 10000) return absl::InvalidArgumentError("sweep has too many levels");
  }
  levels.push_back(*last);
  return levels;
}

bool ShouldStopSweep(const std::vector<LevelOutcome>& levels, const SweepRule& rule) {
  if (levels.empty()) return false;
  const LevelOutcome& last = levels.back();
  if (last.error_fraction > rule.max_error_fraction) return true;
  if (last.offered_rate > 0) {
    return last.throughput < (1 - rule.max_shortfall) * last.offered_rate;
  }
  // Closed loop: count the trailing levels that did not beat the best before
  // them by min_gain.
  int stalled = 0;
  double best = 0;
  for (size_t i = 0; i < levels.size(); ++i) {
    if (i > 0 && levels[i].throughput < best * (1 + rule.min_gain)) {
      ++stalled;
    } else {
      stalled = 0;
    }
    best = std::max(best, levels[i].throughput);
  }
  return stalled >= rule.patience;
}

}  // namespace tide::loadgen
