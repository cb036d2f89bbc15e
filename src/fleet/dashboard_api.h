#pragma once

// The JSON behind `tide up`'s dashboard (src/dashboard/dashboard.html), served
// on the fleet's metrics port next to /metrics:
//   GET /                       the page
//   GET /api/timeline?since=T   {"rows":[row...]}: the FleetRecorder's rows
//                               (timeline.csv's) with t_s > T; all without since
//   GET /api/events?from=N      {"events":[event...],"next":M}: events N.. (seq
//                               numbers from 0); ?since=T: those with t_s > T
//   GET /api/status             the replica table, each HPA metric now, and the
//                               page's meta (HPA bounds, metric targets, SLO)
// A bad query is a 400 {"error": ...}; a method other than GET a 405. Nothing
// is computed until a request comes: with no browser connected the fleet does
// exactly what it did before (the rows are the recorder's, kept anyway).
// Times are seconds since the recorder's first sample; events come once the
// timeline has begun (before that, /api/events lists none).
//
// Thread safety: the routes may run on any thread (the recorder locks).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "autoscaler/hpa_spec.h"
#include "fleet/fleet.h"
#include "fleet/fleet_report.h"
#include "nlohmann/json.hpp"

namespace tide::fleet {

struct DashboardOptions {
  const FleetRecorder* recorder = nullptr;  // not owned; required; outlives the fleet
  double slo_seconds = 0.5;                 // the latency chart's SLO line
};

// For Fleet::Options::routes.
FleetRoutes DashboardRoutes(DashboardOptions options);

// GET /api/timeline and /api/events on `recorder` (what the routes answer).
http::HttpResponse TimelineResponse(const http::HttpRequest& req, const FleetRecorder& recorder);
http::HttpResponse EventsResponse(const http::HttpRequest& req, const FleetRecorder& recorder);

// The pieces, exact and tested. A metric value as the HPA saw it ("57%",
// "4500m", "4"): 57, 4.5, 4; nullopt for "" or what does not parse.
std::optional<double> MetricNumber(std::string_view text);
// {"t_s","arrivals_per_s","completions_per_s","errors_per_s","desired_replicas",
//  "ready_replicas","metrics":[number|null...],"p50_s","p99_s"} (null: none)
nlohmann::json TimelineRowJson(const TimelineRow& row);
// {"seq","t_s","kind", decisions: "from","to","reason"; else "replica"; "message"}
nlohmann::json EventJson(const FleetEvent& e, size_t seq, absl::Time origin);
// {"name","min_replicas","max_replicas","slo_s","metrics":[{"label","name",
//  "target","unit"}]}: unit "%" for utilization targets, else "".
nlohmann::json MetaJson(const autoscaler::HpaSpec& hpa, double slo_seconds);
// {"desired","ready","starting","terminating","router_requests","router_errors",
//  "replicas":[{"name","state","pid","restarts","outstanding","rate_per_s",
//  "p50_s","p99_s","queue_depth","in_flight","cpu_cores","error"}],
//  "metrics":[{"label","target","current","error"}]}
nlohmann::json StatusJson(const FleetStatus& s);

// report.html: the page with {"kind":"up","meta":..,"rows":[..],"events":[..]}
// embedded (no polling).
std::string ReportHtml(const std::vector<TimelineRow>& rows, const std::vector<FleetEvent>& events,
                       std::optional<absl::Time> origin, const autoscaler::HpaSpec& hpa,
                       double slo_seconds);

}  // namespace tide::fleet
