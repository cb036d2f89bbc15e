#pragma once

// Renders a LoadReport: a table for people, JSON and CSV for machines and
// plots. Pure functions of the report (files are written by the caller's
// choice of WriteFile).

#include <string>

#include "absl/status/status.h"
#include "loadgen/load_runner.h"
#include "nlohmann/json.hpp"

namespace tide::loadgen {

// The terminal table: one row per level (perf_analyzer's layout), then
// errors, the server's breakdown and warnings per level, and the client's
// own CPU use.
std::string FormatReport(const LoadReport& report);

// Everything: config, per-level results (latency percentiles, errors,
// client and server breakdown, warnings) and each level's per-second
// timeline.
nlohmann::json ReportToJson(const LoadReport& report);

// One row per level.
std::string ReportToCsv(const LoadReport& report);
// One row per second per level: sent, completed, errors, p50, p99, in-flight.
std::string TimelineToCsv(const LoadReport& report);

absl::Status WriteFile(const std::string& path, const std::string& contents);

}  // namespace tide::loadgen
