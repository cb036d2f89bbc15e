#pragma once

// A measured replica (`tide sim --profile FILE`): the mean service time of a
// batch as a function of its size, from
//   - the JSON of a `tide load` run or sweep against one replica: each level's
//     server breakdown gives a point (mean_batch_size, mean_compute_ms);
//   - or a table: {"batch_latency_ms": {"1": 50, "8": 330}}.
// Between points the time is interpolated linearly; beyond them extrapolated
// from the nearest two (from the one point, flat), never below 0. The
// distribution around that mean is the service-time model's (--distribution).

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::sim {

struct ServiceProfile {
  std::vector<std::pair<double, double>> points;  // (batch rows, ms), rows ascending, distinct

  double MeanMs(double rows) const;
};

// `name` is used in messages (the file). InvalidArgument names what is wrong.
absl::StatusOr<ServiceProfile> ParseServiceProfile(const std::string& json_text,
                                                   const std::string& name);

}  // namespace tide::sim
