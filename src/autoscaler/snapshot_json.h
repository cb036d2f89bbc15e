#pragma once

// The decision snapshot JSON of docs/hpa-semantics.md §13 (the input of
// `tide hpa decide`) and the decision JSON it prints. Unknown fields
// (`expect`, `note`, `source`, ...) are ignored by the parser; `expect` is
// kept raw so tests can compare against it.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autoscaler/decision.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/snapshot.h"
#include "nlohmann/json.hpp"

namespace tide::autoscaler {

struct SnapshotCase {
  std::string name;
  std::string source;
  HpaSpec spec;  // after ApplyDefaults()
  ControllerConfig config;
  Snapshot snapshot;
  History history;
  absl::Time now;
  nlohmann::json expect;  // null when absent
};

// Seconds on the snapshot clock (0.0 = Go's zero time, "long ago") to absl::Time.
absl::Time TimeFromSeconds(double seconds);

// Parses one snapshot object, or an array of them. Errors are
// InvalidArgument and name the JSON path ("$[3].pods[0].phase: ...").
absl::StatusOr<std::vector<SnapshotCase>> ParseSnapshots(const nlohmann::json& doc);
absl::StatusOr<SnapshotCase> ParseSnapshot(const nlohmann::json& j, const std::string& path);

// {"name", "desiredReplicas", "metricReplicas", "error", "errorMessage",
//  "utilization", "rawUtilization", "usage", "reason", "message"}.
// utilization/rawUtilization/usage describe the first metric; fields that do
// not apply are null; metricReplicas is null when no metric was evaluated.
// Keys keep this order.
nlohmann::ordered_json DecisionToJson(const std::string& name, const Decision& d);

// Compares a decision with an `expect` object (only the keys it has).
// Returns "" when they agree, otherwise what differs.
std::string CompareWithExpectation(const Decision& d, const nlohmann::json& expect);

}  // namespace tide::autoscaler
