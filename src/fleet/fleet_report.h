#pragma once

// What `tide up` shows and writes about its fleet: the per-second timeline
// (FleetRecorder), the line-per-event log, the live view on a TTY (plain
// ANSI), and the report directory (--report DIR): timeline.csv, events.jsonl,
// report.svg (request rate, replicas and p99 against the SLO over time) and
// report.html (the same charts and more, interactive: src/dashboard).
//
// Thread safety: FleetRecorder's methods may be called from any thread.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autoscaler/hpa_spec.h"
#include "fleet/demo_traffic.h"
#include "fleet/fleet.h"

namespace tide::fleet {

// One second of the fleet, as the report and the live view show it.
struct TimelineRow {
  double t = 0;            // seconds since the first sample
  double arrivals = 0;     // requests that reached the router (per second)
  double completions = 0;  // answered
  double errors = 0;       // answered 5xx (or failed at the demo's client)
  int desired = 0;
  int ready = 0;
  std::vector<std::string> metrics;   // each HPA metric as the HPA last saw it ("" = unknown)
  std::optional<double> p50_seconds;  // at the router, over this second
  std::optional<double> p99_seconds;
};

// "decision: New size: 4; reason: ...", "tide-serve-3 ready", ...
std::string EventLine(const FleetEvent& e);

// The whole screen (ANSI: home, clear) for one refresh.
std::string RenderLiveView(const FleetStatus& status, const std::optional<TimelineRow>& row,
                           const std::string& demo_phase);

class FleetRecorder {
 public:
  explicit FleetRecorder(autoscaler::HpaSpec hpa) : hpa_(std::move(hpa)) {}

  void AddEvent(const FleetEvent& e);
  // A timeline row from the fleet's status, its /metrics text (the router's
  // counters: deltas since the previous sample) and the demo's client.
  void Sample(absl::Time now, const FleetStatus& status, const std::string& metrics_text,
              const DemoTrafficStats& demo);
  std::optional<TimelineRow> LastRow() const;
  std::vector<TimelineRow> Rows() const;
  // The rows with t > `t` (the dashboard's /api/timeline?since=).
  std::vector<TimelineRow> RowsSince(double t) const;
  std::vector<FleetEvent> Events() const;
  // The time of the first sample: t = 0 of the rows (none before it).
  std::optional<absl::Time> Origin() const;
  const autoscaler::HpaSpec& hpa() const { return hpa_; }

  // timeline.csv, events.jsonl, report.svg and report.html (the dashboard
  // with the whole run embedded: fleet/dashboard_api.h) in `dir` (created).
  absl::Status WriteReport(const std::string& dir, double slo_seconds) const;

 private:
  const autoscaler::HpaSpec hpa_;
  mutable absl::Mutex mu_;
  std::vector<FleetEvent> events_ ABSL_GUARDED_BY(mu_);
  std::vector<TimelineRow> rows_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> first_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> prev_time_ ABSL_GUARDED_BY(mu_);
  double prev_answered_ ABSL_GUARDED_BY(mu_) = 0;
  double prev_errors_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t prev_demo_errors_ ABSL_GUARDED_BY(mu_) = 0;
  double prev_pending_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<double, double> prev_buckets_ ABSL_GUARDED_BY(mu_);
};

// The report's chart: three panels over the same time axis.
std::string RenderReportSvg(const std::vector<TimelineRow>& rows,
                            const std::vector<FleetEvent>& events, double slo_seconds);

}  // namespace tide::fleet
