#include "sim/distribution.h"

#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tide::sim {

double DurationDistribution::Mean() const {
  switch (kind) {
    case Kind::kFixed:
    case Kind::kExponential:
    case Kind::kLognormal:
      return a;
    case Kind::kUniform:
      return (a + b) / 2;
  }
  return a;
}

double DurationDistribution::SampleSeconds(std::mt19937_64& rng) const {
  switch (kind) {
    case Kind::kFixed:
      return a;
    case Kind::kUniform:
      return a == b ? a : std::uniform_real_distribution<double>(a, b)(rng);
    case Kind::kExponential:
      return a > 0 ? std::exponential_distribution<double>(1.0 / a)(rng) : 0;
    case Kind::kLognormal:
      return a > 0 ? std::lognormal_distribution<double>(std::log(a) - b * b / 2, b)(rng) : 0;
  }
  return a;
}

std::string DurationDistribution::ToString() const {
  switch (kind) {
    case Kind::kFixed:
      return absl::StrCat("fixed:", a);
    case Kind::kUniform:
      return absl::StrCat("uniform:", a, ":", b);
    case Kind::kExponential:
      return absl::StrCat("exponential:", a);
    case Kind::kLognormal:
      return absl::StrCat("lognormal:", a, ":", b);
  }
  return "";
}

absl::StatusOr<DurationDistribution> ParseDurationDistribution(const std::string& text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  auto error = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "': ", why,
                                                   " (use S, fixed:S, uniform:LOW:HIGH, "
                                                   "exponential:MEAN or lognormal:MEAN:SIGMA, "
                                                   "in seconds)"));
  };
  std::vector<double> numbers;
  size_t first = 1;
  DurationDistribution d;
  if (parts.size() == 1) {
    first = 0;
  } else if (parts[0] == "fixed") {
    d.kind = DurationDistribution::Kind::kFixed;
  } else if (parts[0] == "uniform") {
    d.kind = DurationDistribution::Kind::kUniform;
  } else if (parts[0] == "exponential") {
    d.kind = DurationDistribution::Kind::kExponential;
  } else if (parts[0] == "lognormal") {
    d.kind = DurationDistribution::Kind::kLognormal;
  } else {
    return error(absl::StrCat("unknown distribution '", parts[0], "'"));
  }
  for (size_t i = first; i < parts.size(); ++i) {
    double v;
    if (!absl::SimpleAtod(parts[i], &v) || !std::isfinite(v) || v < 0) {
      return error(absl::StrCat("'", parts[i], "' is not a number >= 0"));
    }
    numbers.push_back(v);
  }
  size_t want = d.kind == DurationDistribution::Kind::kUniform ||
                        d.kind == DurationDistribution::Kind::kLognormal
                    ? 2
                    : 1;
  if (numbers.size() != want) return error(absl::StrCat("expected ", want, " number(s)"));
  d.a = numbers[0];
  if (want == 2) d.b = numbers[1];
  if (d.kind == DurationDistribution::Kind::kUniform && d.a > d.b) {
    return error("low must be <= high");
  }
  return d;
}

}  // namespace tide::sim
