#include "fleet/dashboard_api.h"

#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "autoscaler/quantity.h"
#include "dashboard/page.h"
#include "fleet/replica.h"

namespace tide::fleet {

namespace {

using nlohmann::json;

json OrNull(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json(nullptr);
}

http::HttpResponse JsonResponse(const json& body) {
  http::HttpResponse r;
  r.body = body.dump();
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// The query of `target` as key → value; InvalidArgument for a key not in
// `allowed`, one given twice, or one without a value.
absl::StatusOr<std::map<std::string, std::string>> Query(
    const std::string& target, std::initializer_list<std::string> allowed) {
  std::map<std::string, std::string> out;
  size_t q = target.find('?');
  if (q == std::string::npos || q + 1 == target.size()) return out;
  for (absl::string_view part : absl::StrSplit(target.substr(q + 1), '&')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    bool known = false;
    for (const std::string& a : allowed) known |= a == kv.first;
    if (!known) {
      std::string names;
      for (const std::string& a : allowed) absl::StrAppend(&names, names.empty() ? "" : ", ", a);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown query parameter \"", kv.first, "\" (",
                       names.empty() ? "this endpoint takes none" : "expected: " + names, ")"));
    }
    if (kv.second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("query parameter ", kv.first, ": no value"));
    }
    if (!out.emplace(kv.first, kv.second).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter ", kv.first, ": given twice"));
    }
  }
  return out;
}

absl::StatusOr<double> Seconds(const std::map<std::string, std::string>& q, const char* key) {
  auto it = q.find(key);
  if (it == q.end()) return -INFINITY;
  double v;
  if (!absl::SimpleAtod(it->second, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": \"", it->second, "\" is not a number of seconds"));
  }
  return v;
}

http::HttpResponse BadRequest(const absl::Status& s) {
  return http::ErrorResponse(400, std::string(s.message()));
}

}  // namespace

http::HttpResponse TimelineResponse(const http::HttpRequest& req, const FleetRecorder& recorder) {
  auto q = Query(req.target, {"since"});
  if (!q.ok()) return BadRequest(q.status());
  absl::StatusOr<double> since = Seconds(*q, "since");
  if (!since.ok()) return BadRequest(since.status());
  json rows = json::array();
  for (const TimelineRow& r : recorder.RowsSince(*since)) rows.push_back(TimelineRowJson(r));
  return JsonResponse(json{{"rows", std::move(rows)}});
}

http::HttpResponse EventsResponse(const http::HttpRequest& req, const FleetRecorder& recorder) {
  auto q = Query(req.target, {"from", "since"});
  if (!q.ok()) return BadRequest(q.status());
  absl::StatusOr<double> since = Seconds(*q, "since");
  if (!since.ok()) return BadRequest(since.status());
  uint64_t from = 0;
  if (auto it = q->find("from"); it != q->end() && !absl::SimpleAtoi(it->second, &from)) {
    return BadRequest(absl::InvalidArgumentError(
        absl::StrCat("from: \"", it->second, "\" is not an event number (0, 1, ...)")));
  }
  json events = json::array();
  std::optional<absl::Time> origin = recorder.Origin();
  size_t next = 0;
  if (origin) {
    std::vector<FleetEvent> all = recorder.Events();
    next = all.size();
    for (size_t i = from; i < all.size(); ++i) {
      json e = EventJson(all[i], i, *origin);
      if (e["t_s"].get<double>() > *since) events.push_back(std::move(e));
    }
  }
  return JsonResponse(json{{"events", std::move(events)}, {"next", next}});
}

std::optional<double> MetricNumber(std::string_view view) {
  absl::string_view text = absl::StripSuffix(absl::string_view(view.data(), view.size()), " (avg)");
  if (absl::ConsumeSuffix(&text, "%")) {
    double v;
    if (absl::SimpleAtod(text, &v)) return v;
    return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  absl::StatusOr<autoscaler::Quantity> q =
      autoscaler::Quantity::Parse(std::string_view(text.data(), text.size()));
  if (!q.ok()) return std::nullopt;
  return static_cast<double>(q->MilliValue()) / 1000;
}

json TimelineRowJson(const TimelineRow& r) {
  json metrics = json::array();
  for (const std::string& m : r.metrics) metrics.push_back(OrNull(MetricNumber(m)));
  return json{{"t_s", r.t},
              {"arrivals_per_s", r.arrivals},
              {"completions_per_s", r.completions},
              {"errors_per_s", r.errors},
              {"desired_replicas", r.desired},
              {"ready_replicas", r.ready},
              {"metrics", std::move(metrics)},
              {"p50_s", OrNull(r.p50_seconds)},
              {"p99_s", OrNull(r.p99_seconds)}};
}

json EventJson(const FleetEvent& e, size_t seq, absl::Time origin) {
  json j{{"seq", seq}, {"t_s", absl::ToDoubleSeconds(e.time - origin)}, {"kind", e.kind}};
  if (e.kind == "decision") {
    j["from"] = e.from;
    j["to"] = e.to;
    j["reason"] = e.reason;
  } else {
    j["replica"] = e.replica;
  }
  j["message"] = e.message;
  return j;
}

json MetaJson(const autoscaler::HpaSpec& hpa, double slo_seconds) {
  json metrics = json::array();
  for (const autoscaler::MetricSpec& m : hpa.metrics) {
    const autoscaler::MetricTarget* t = nullptr;
    std::string name = m.type;
    if (m.resource) t = &m.resource->target, name = m.resource->name;
    if (m.container_resource) t = &m.container_resource->target, name = m.container_resource->name;
    if (m.pods) t = &m.pods->target, name = m.pods->metric.name;
    if (m.object) t = &m.object->target, name = m.object->metric.name;
    if (m.external) t = &m.external->target, name = m.external->metric.name;
    json target = nullptr;
    std::string unit;
    if (t && t->average_utilization) {
      target = *t->average_utilization;
      unit = "%";
    } else if (t && (t->average_value || t->value)) {
      const autoscaler::Quantity& q = t->average_value ? *t->average_value : *t->value;
      target = static_cast<double>(q.MilliValue()) / 1000;
    }
    metrics.push_back(
        json{{"label", m.Describe()}, {"name", name}, {"target", target}, {"unit", unit}});
  }
  return json{{"name", hpa.name},
              {"min_replicas", hpa.MinReplicasOrDefault()},
              {"max_replicas", hpa.max_replicas},
              {"slo_s", slo_seconds},
              {"metrics", std::move(metrics)}};
}

json StatusJson(const FleetStatus& s) {
  json replicas = json::array();
  for (const FleetReplicaStatus& r : s.replicas) {
    const PodScrapeView* v = r.scraped ? &*r.scraped : nullptr;
    auto view = [v](std::optional<double> PodScrapeView::*field) {
      return v ? OrNull(v->*field) : json(nullptr);
    };
    replicas.push_back(json{{"name", r.replica.name},
                            {"state", std::string(ReplicaStateName(r.replica.state))},
                            {"pid", r.replica.pid},
                            {"restarts", r.replica.restart_count},
                            {"outstanding", r.outstanding},
                            {"rate_per_s", view(&PodScrapeView::request_rate)},
                            {"p50_s", view(&PodScrapeView::p50_seconds)},
                            {"p99_s", view(&PodScrapeView::p99_seconds)},
                            {"queue_depth", view(&PodScrapeView::queue_depth)},
                            {"in_flight", view(&PodScrapeView::in_flight)},
                            {"cpu_cores", view(&PodScrapeView::cpu_cores)},
                            {"error", v ? v->last_error : ""}});
  }
  json metrics = json::array();
  for (const FleetMetricStatus& m : s.metrics) {
    metrics.push_back(json{{"label", m.description},
                           {"target", m.target},
                           {"current", m.current ? json(*m.current) : json(nullptr)},
                           {"error", m.error}});
  }
  return json{{"desired", s.desired},
              {"ready", s.ready},
              {"starting", s.starting},
              {"terminating", s.terminating},
              {"router_requests", s.router_requests},
              {"router_errors", s.router_errors},
              {"replicas", std::move(replicas)},
              {"metrics", std::move(metrics)}};
}

std::string ReportHtml(const std::vector<TimelineRow>& rows, const std::vector<FleetEvent>& events,
                       std::optional<absl::Time> origin, const autoscaler::HpaSpec& hpa,
                       double slo_seconds) {
  json jrows = json::array();
  for (const TimelineRow& r : rows) jrows.push_back(TimelineRowJson(r));
  json jevents = json::array();
  if (!origin && !events.empty()) origin = events.front().time;
  for (size_t i = 0; i < events.size(); ++i) jevents.push_back(EventJson(events[i], i, *origin));
  json data{{"kind", "up"},
            {"meta", MetaJson(hpa, slo_seconds)},
            {"rows", std::move(jrows)},
            {"events", std::move(jevents)}};
  return dashboard::PageWithData(data.dump());
}

FleetRoutes DashboardRoutes(DashboardOptions options) {
  return [options](const http::HttpRequest& req,
                   const Fleet& fleet) -> std::optional<http::HttpResponse> {
    const std::string& p = req.path;
    if (p != "/" && p != "/index.html" && p != "/api/timeline" && p != "/api/events" &&
        p != "/api/status") {
      return std::nullopt;
    }
    if (req.method != "GET") {
      http::HttpResponse r = http::ErrorResponse(405, req.method + " " + p + ": only GET");
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    if (p == "/api/timeline") return TimelineResponse(req, *options.recorder);
    if (p == "/api/events") return EventsResponse(req, *options.recorder);
    if (p == "/api/status") {
      auto q = Query(req.target, {});
      if (!q.ok()) return BadRequest(q.status());
      json body = StatusJson(fleet.Status());
      body["meta"] = MetaJson(fleet.hpa(), options.slo_seconds);
      return JsonResponse(body);
    }
    http::HttpResponse page;
    page.content_type = "text/html; charset=utf-8";
    page.body = std::string(dashboard::DashboardPage());
    page.headers.emplace_back("Cache-Control", "no-store");
    return page;
  };
}

}  // namespace tide::fleet
