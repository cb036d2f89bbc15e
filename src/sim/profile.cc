#include "sim/profile.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tide::sim {

double ServiceProfile::MeanMs(double rows) const {
  if (points.empty()) return 0;
  if (points.size() == 1) return points[0].second;
  size_t hi = 1;
  while (hi + 1 < points.size() && points[hi].first < rows) ++hi;
  const auto& [x0, y0] = points[hi - 1];
  const auto& [x1, y1] = points[hi];
  return std::max(0.0, y0 + (y1 - y0) * (rows - x0) / (x1 - x0));
}

absl::StatusOr<ServiceProfile> ParseServiceProfile(const std::string& text,
                                                   const std::string& name) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto error = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", why));
  };
  if (j.is_discarded() || !j.is_object()) return error("not a JSON object");
  ServiceProfile p;
  auto add = [&](double rows, double ms, const std::string& where) -> absl::Status {
    // An hour per batch bounds the latency well inside the simulator's
    // nanosecond clock (1e13 ms used to overflow it into 0).
    if (!(rows >= 1) || !std::isfinite(rows) || !(ms >= 0) || !(ms <= 3'600'000)) {
      return error(absl::StrCat(where,
                                ": batch size must be >= 1 and latency from 0 to 3600000 ms (an "
                                "hour)"));
    }
    p.points.push_back({rows, ms});
    return absl::OkStatus();
  };
  if (j.contains("batch_latency_ms")) {
    const nlohmann::json& t = j["batch_latency_ms"];
    if (!t.is_object()) return error("batch_latency_ms must be an object {\"size\": ms}");
    for (auto it = t.begin(); it != t.end(); ++it) {
      double rows;
      std::string where = absl::StrCat("batch_latency_ms.", it.key());
      if (!absl::SimpleAtod(it.key(), &rows) || !it.value().is_number()) {
        return error(absl::StrCat(where, ": want a batch size and a number of ms"));
      }
      if (absl::Status s = add(rows, it.value().get<double>(), where); !s.ok()) return s;
    }
  } else if (j.value("tool", "") == "tide load" && j.contains("levels") && j["levels"].is_array()) {
    for (size_t i = 0; i < j["levels"].size(); ++i) {
      const nlohmann::json& server = j["levels"][i].value("server", nlohmann::json());
      if (!server.is_object() || !server.value("executions", nlohmann::json(0)).is_number() ||
          server.value("executions", 0.0) <= 0) {
        continue;  // no server breakdown at this level
      }
      std::string where = absl::StrCat("levels[", i, "].server");
      if (!server.value("mean_batch_size", nlohmann::json()).is_number() ||
          !server.value("mean_compute_ms", nlohmann::json()).is_number()) {
        return error(absl::StrCat(where, ": lacks mean_batch_size / mean_compute_ms"));
      }
      if (absl::Status s = add(server["mean_batch_size"].get<double>(),
                               server["mean_compute_ms"].get<double>(), where);
          !s.ok()) {
        return s;
      }
    }
    if (p.points.empty()) {
      return error(
          "no level has a server breakdown (run tide load with --metrics-url against one "
          "replica)");
    }
  } else {
    return error("want {\"batch_latency_ms\": {\"1\": ms, ...}} or the JSON of tide load");
  }
  if (p.points.empty()) return error("no points");
  std::sort(p.points.begin(), p.points.end());
  // Equal batch sizes (levels that batched alike): their mean latency.
  std::vector<std::pair<double, double>> merged;
  for (size_t i = 0; i < p.points.size();) {
    size_t k = i;
    double sum = 0;
    while (k < p.points.size() && p.points[k].first == p.points[i].first)
      sum += p.points[k++].second;
    merged.push_back({p.points[i].first, sum / static_cast<double>(k - i)});
    i = k;
  }
  p.points = std::move(merged);
  return p;
}

}  // namespace tide::sim
