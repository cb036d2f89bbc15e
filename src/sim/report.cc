#include "sim/report.h"

#include "common/logging.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace tide::sim {
namespace {

std::string JsonString(const std::string& s) { return "\"" + common::JsonEscape(s) + "\""; }

std::string CsvName(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

std::string Cell(double v) { return std::isfinite(v) ? FormatNumber(v) : ""; }

}  // namespace

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == 0) return "0";
  std::string s = absl::StrFormat("%.6g", v);
  return s;
}

std::string ResultsJson(const std::vector<PolicyResult>& results, double wall_seconds) {
  std::string out = "{\"policies\":[";
  uint64_t total = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const PolicyResult& r = results[i];
    total += r.requests;
    if (i) out += ",";
    absl::StrAppend(&out, "{\"name\":", JsonString(r.name), ",\"requests\":", r.requests,
                    ",\"completed\":", r.completed, ",\"rejected\":", r.rejected);
    absl::StrAppend(&out, ",\"latency_s\":{\"mean\":", FormatNumber(r.latency_mean_s),
                    ",\"p50\":", FormatNumber(r.latency_p50_s),
                    ",\"p95\":", FormatNumber(r.latency_p95_s),
                    ",\"p99\":", FormatNumber(r.latency_p99_s),
                    ",\"max\":", FormatNumber(r.latency_max_s), "}");
    absl::StrAppend(&out, ",\"wait_s\":{\"mean\":", FormatNumber(r.wait_mean_s),
                    ",\"p_positive\":", FormatNumber(r.wait_p_positive), "}");
    absl::StrAppend(&out, ",\"slo_attainment\":", FormatNumber(r.slo_attainment),
                    ",\"replica_seconds\":", FormatNumber(r.replica_seconds),
                    ",\"replicas\":{\"mean\":", FormatNumber(r.replicas_mean),
                    ",\"max\":", r.replicas_max, "}", ",\"scale_ups\":", r.scale_ups,
                    ",\"scale_downs\":", r.scale_downs);
    absl::StrAppend(&out, ",\"cost_per_million_requests\":", FormatNumber(r.cost_per_million),
                    ",\"slo_recovery_s\":", FormatNumber(r.slo_recovery_s),
                    ",\"mean_batch_size\":", FormatNumber(r.mean_batch_size),
                    ",\"duration_s\":", FormatNumber(r.duration_s), "}");
  }
  double rate = wall_seconds > 0 ? static_cast<double>(total) / wall_seconds : 0;
  absl::StrAppend(&out, "],\"wall_seconds\":", FormatNumber(wall_seconds),
                  ",\"simulated_requests_per_second\":", FormatNumber(rate), "}\n");
  return out;
}

std::string ResultsTable(const std::vector<PolicyResult>& results, double slo_s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {""};
  for (const PolicyResult& r : results) header.push_back(r.name);
  rows.push_back(header);
  auto row = [&](const std::string& label, auto cell) {
    std::vector<std::string> cells = {label};
    for (const PolicyResult& r : results) cells.push_back(cell(r));
    rows.push_back(std::move(cells));
  };
  auto ms = [](double s) { return absl::StrFormat("%.1f ms", s * 1000); };
  row("requests", [](const PolicyResult& r) { return absl::StrCat(r.requests); });
  row("completed", [](const PolicyResult& r) { return absl::StrCat(r.completed); });
  row("rejected", [](const PolicyResult& r) { return absl::StrCat(r.rejected); });
  row(absl::StrFormat("SLO (<= %s) met", ms(slo_s)),
      [](const PolicyResult& r) { return absl::StrFormat("%.3f %%", 100 * r.slo_attainment); });
  row("latency p50", [&](const PolicyResult& r) { return ms(r.latency_p50_s); });
  row("latency p95", [&](const PolicyResult& r) { return ms(r.latency_p95_s); });
  row("latency p99", [&](const PolicyResult& r) { return ms(r.latency_p99_s); });
  row("latency max", [&](const PolicyResult& r) { return ms(r.latency_max_s); });
  row("wait mean", [&](const PolicyResult& r) { return ms(r.wait_mean_s); });
  row("waited (share)",
      [](const PolicyResult& r) { return absl::StrFormat("%.3f", r.wait_p_positive); });
  row("replica-seconds",
      [](const PolicyResult& r) { return absl::StrFormat("%.0f", r.replica_seconds); });
  row("cost / 1M requests",
      [](const PolicyResult& r) { return absl::StrFormat("%.0f replica-s", r.cost_per_million); });
  row("replicas mean / max", [](const PolicyResult& r) {
    return absl::StrFormat("%.2f / %d", r.replicas_mean, r.replicas_max);
  });
  row("scale ups / downs",
      [](const PolicyResult& r) { return absl::StrCat(r.scale_ups, " / ", r.scale_downs); });
  row("SLO recovery (longest)",
      [](const PolicyResult& r) { return absl::StrFormat("%.0f s", r.slo_recovery_s); });
  row("mean batch size",
      [](const PolicyResult& r) { return absl::StrFormat("%.2f", r.mean_batch_size); });
  std::vector<size_t> width(header.size(), 0);
  for (const auto& cells : rows) {
    for (size_t i = 0; i < cells.size(); ++i) width[i] = std::max(width[i], cells[i].size());
  }
  std::string out;
  for (const auto& cells : rows) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i == 0) {
        out += cells[i] + std::string(width[i] - cells[i].size(), ' ');
      } else {
        out += "  " + std::string(width[i] - cells[i].size(), ' ') + cells[i];
      }
    }
    out += "\n";
  }
  return out;
}

std::string TimelineCsv(const std::vector<PolicyResult>& results) {
  std::vector<std::string> header = {"second", "arrivals"};
  size_t rows = 0;
  for (const PolicyResult& r : results) {
    std::string p = CsvName(r.name);
    for (const char* col : {"desired", "ready", "replicas", "queued", "p99_s", "rejected"}) {
      header.push_back(absl::StrCat(p, "_", col));
    }
    for (const std::string& m : r.seen_names)
      header.push_back(absl::StrCat(p, "_seen_", CsvName(m)));
    rows = std::max(rows, r.timeline.size());
  }
  std::string out = absl::StrJoin(header, ",") + "\n";
  for (size_t i = 0; i < rows; ++i) {
    std::vector<std::string> cells = {absl::StrCat(i), ""};
    for (const PolicyResult& r : results) {
      if (i >= r.timeline.size()) {
        for (size_t k = 0; k < 6 + r.seen_names.size(); ++k) cells.push_back("");
        continue;
      }
      const TimelineRow& t = r.timeline[i];
      if (cells[1].empty()) cells[1] = absl::StrCat(t.arrivals);
      cells.push_back(absl::StrCat(t.desired));
      cells.push_back(absl::StrCat(t.ready));
      cells.push_back(absl::StrCat(t.replicas));
      cells.push_back(absl::StrCat(t.queued));
      cells.push_back(t.p99_s >= 0 ? FormatNumber(t.p99_s) : "");
      cells.push_back(absl::StrCat(t.rejected));
      for (double v : t.seen) cells.push_back(Cell(v));
    }
    out += absl::StrJoin(cells, ",") + "\n";
  }
  return out;
}

}  // namespace tide::sim
