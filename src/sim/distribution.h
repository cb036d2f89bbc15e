#pragma once

// A duration distribution given on the command line, e.g. for a pod's
// start-up (scheduling + image pull + model load):
//   "30" or "fixed:30"          always 30 s
//   "uniform:15:45"             uniform between 15 and 45 s
//   "exponential:30"            exponential, mean 30 s
//   "lognormal:30:0.5"          lognormal, mean 30 s, sigma 0.5
// Sampled from a generator the caller owns (seeded), so runs are repeatable.

#include <random>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tide::sim {

struct DurationDistribution {
  enum class Kind { kFixed, kUniform, kExponential, kLognormal };
  Kind kind = Kind::kFixed;
  double a = 0;  // fixed value, uniform low, exponential/lognormal mean (seconds)
  double b = 0;  // uniform high, lognormal sigma

  double Mean() const;
  // One draw in seconds (>= 0).
  double SampleSeconds(std::mt19937_64& rng) const;
  std::string ToString() const;
};

// InvalidArgument names what is wrong, e.g. "uniform:45:15: low must be <= high".
absl::StatusOr<DurationDistribution> ParseDurationDistribution(const std::string& text);

}  // namespace tide::sim
