#include "fleet/fleet_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "fleet/dashboard_api.h"
#include "fleet/scrape_source.h"
#include "metrics/metric_names.h"
#include "metrics/prometheus_parser.h"
#include "nlohmann/json.hpp"

namespace tide::fleet {

namespace names = metrics::names;

std::string EventLine(const FleetEvent& e) {
  if (e.kind == "decision") {
    if (e.reason == "FailedReconcile") return absl::StrCat("HPA: reconcile failed: ", e.message);
    return absl::StrCat("HPA: ", e.message);
  }
  return absl::StrCat(e.replica, " ", e.kind, e.message.empty() ? "" : ": ", e.message);
}

namespace {

std::string Ms(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  return absl::StrFormat("%.0fms", *seconds * 1000);
}

}  // namespace

std::string RenderLiveView(const FleetStatus& s, const std::optional<TimelineRow>& row,
                           const std::string& demo_phase) {
  std::string out = "\x1b[H\x1b[2J";
  absl::StrAppend(&out, "\x1b[1mtide up\x1b[0m  replicas: desired ", s.desired, "  ready ", s.ready,
                  "  starting ", s.starting, "  terminating ", s.terminating);
  if (!demo_phase.empty()) absl::StrAppend(&out, "   demo: ", demo_phase);
  absl::StrAppend(&out, "\n");
  if (row) {
    absl::StrAppend(&out, absl::StrFormat("router: %.1f req/s in, %.1f answered, %.1f errors/s; "
                                          "p50 %s p99 %s\n",
                                          row->arrivals, row->completions, row->errors,
                                          Ms(row->p50_seconds), Ms(row->p99_seconds)));
  }
  absl::StrAppend(&out, "\n",
                  absl::StrFormat("%-16s %-12s %5s %8s %8s %8s %6s %6s\n", "REPLICA", "STATE",
                                  "OUT", "RATE/s", "P50", "P99", "QUEUE", "CPU"));
  for (const FleetReplicaStatus& r : s.replicas) {
    const PodScrapeView* v = r.scraped ? &*r.scraped : nullptr;
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-16s %-12s %5d %8s %8s %8s %6s %6s\n", r.replica.name,
                  std::string(ReplicaStateName(r.replica.state)), r.outstanding,
                  v && v->request_rate ? absl::StrFormat("%.1f", *v->request_rate) : "-",
                  Ms(v ? v->p50_seconds : std::nullopt), Ms(v ? v->p99_seconds : std::nullopt),
                  v && v->queue_depth ? absl::StrFormat("%.0f", *v->queue_depth) : "-",
                  v && v->cpu_cores ? absl::StrFormat("%.0f%%", *v->cpu_cores * 100) : "-"));
  }
  absl::StrAppend(&out, "\nMetrics:   ( current / target )\n");
  for (const FleetMetricStatus& m : s.metrics) {
    absl::StrAppend(&out, "  \"", m.description, "\":  ", m.current.value_or("<unknown>"), " / ",
                    m.target, m.error.empty() ? "" : "   (" + m.error + ")", "\n");
  }
  absl::StrAppend(&out, "\nEvents:\n");
  for (const FleetEvent& e : s.recent_decisions) {
    absl::StrAppend(&out, "  Normal  SuccessfulRescale  horizontal-pod-autoscaler  ", e.message,
                    "\n");
  }
  absl::StrAppend(&out, "\nCtrl-C drains and stops every replica.\n");
  return out;
}

void FleetRecorder::AddEvent(const FleetEvent& e) {
  absl::MutexLock lock(&mu_);
  events_.push_back(e);
}

void FleetRecorder::Sample(absl::Time now, const FleetStatus& s, const std::string& metrics_text,
                           const DemoTrafficStats& demo) {
  double answered = 0, errors = 0, held = 0;
  std::map<double, double> buckets;
  if (auto e = metrics::ParsePrometheusText(metrics_text); e.ok()) {
    for (const metrics::MetricSample* m : e->Select(names::kRouterRequestsTotal)) {
      answered += m->value;
      auto code = m->labels.find("code");
      if (code != m->labels.end() && !code->second.empty() && code->second[0] == '5') {
        errors += m->value;
      }
    }
    held = e->Sum(names::kRouterHeldRequests);
    buckets = e->SumHistogram(names::kRouterRequestDurationSeconds).buckets;
  }
  double outstanding = held;
  for (const auto& r : s.replicas) outstanding += r.outstanding;

  absl::MutexLock lock(&mu_);
  if (!first_) first_ = now;
  TimelineRow row;
  row.t = absl::ToDoubleSeconds(now - *first_);
  double secs = prev_time_ ? absl::ToDoubleSeconds(now - *prev_time_) : 0;
  if (secs > 0) {
    row.completions = std::max(0.0, answered - prev_answered_) / secs;
    uint64_t demo_errors = demo.errors - std::min(demo.errors, prev_demo_errors_);
    row.errors = std::max(0.0, errors - prev_errors_) / secs;
    row.errors = std::max(row.errors, static_cast<double>(demo_errors) / secs);
    row.arrivals = std::max(0.0, answered - prev_answered_ + outstanding - prev_pending_) / secs;
    std::map<double, double> delta;
    for (const auto& [le, c] : buckets) {
      auto it = prev_buckets_.find(le);
      delta[le] = c - (it == prev_buckets_.end() ? 0 : it->second);
    }
    double p50 = HistogramQuantile(0.5, delta), p99 = HistogramQuantile(0.99, delta);
    if (!std::isnan(p50)) row.p50_seconds = p50;
    if (!std::isnan(p99)) row.p99_seconds = p99;
  }
  row.desired = s.desired;
  row.ready = s.ready;
  for (const auto& m : s.metrics) row.metrics.push_back(m.current.value_or(""));
  prev_time_ = now;
  prev_answered_ = answered;
  prev_errors_ = errors;
  prev_demo_errors_ = demo.errors;
  prev_pending_ = outstanding;
  prev_buckets_ = std::move(buckets);
  if (secs > 0) rows_.push_back(std::move(row));
}

std::optional<TimelineRow> FleetRecorder::LastRow() const {
  absl::MutexLock lock(&mu_);
  if (rows_.empty()) return std::nullopt;
  return rows_.back();
}

std::vector<TimelineRow> FleetRecorder::Rows() const {
  absl::MutexLock lock(&mu_);
  return rows_;
}

std::vector<TimelineRow> FleetRecorder::RowsSince(double t) const {
  absl::MutexLock lock(&mu_);
  auto from = std::upper_bound(rows_.begin(), rows_.end(), t,
                               [](double v, const TimelineRow& r) { return v < r.t; });
  return std::vector<TimelineRow>(from, rows_.end());
}

std::vector<FleetEvent> FleetRecorder::Events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

std::optional<absl::Time> FleetRecorder::Origin() const {
  absl::MutexLock lock(&mu_);
  return first_;
}

absl::Status FleetRecorder::WriteReport(const std::string& dir, double slo_seconds) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir, ": ", ec.message()));
  std::vector<TimelineRow> rows;
  std::vector<FleetEvent> events;
  std::optional<absl::Time> origin;
  {
    absl::MutexLock lock(&mu_);
    rows = rows_;
    events = events_;
    origin = first_;
  }
  {
    std::ofstream csv(dir + "/timeline.csv");
    if (!csv) return absl::InternalError(absl::StrCat(dir, "/timeline.csv: cannot write"));
    csv << "t_s,arrivals_per_s,completions_per_s,errors_per_s,desired_replicas,ready_replicas";
    for (const auto& m : hpa_.metrics) {
      std::string name = m.Describe();
      std::replace(name.begin(), name.end(), ',', ';');
      csv << ",\"" << name << "\"";
    }
    csv << ",p50_s,p99_s\n";
    for (const TimelineRow& r : rows) {
      csv << absl::StrFormat("%.1f,%.2f,%.2f,%.2f,%d,%d", r.t, r.arrivals, r.completions, r.errors,
                             r.desired, r.ready);
      for (const auto& m : r.metrics) csv << "," << m;
      for (size_t i = r.metrics.size(); i < hpa_.metrics.size(); ++i) csv << ",";
      csv << "," << (r.p50_seconds ? absl::StrFormat("%.4f", *r.p50_seconds) : "") << ","
          << (r.p99_seconds ? absl::StrFormat("%.4f", *r.p99_seconds) : "") << "\n";
    }
  }
  {
    std::ofstream jl(dir + "/events.jsonl");
    if (!jl) return absl::InternalError(absl::StrCat(dir, "/events.jsonl: cannot write"));
    const absl::Time origin = events.empty() ? absl::UnixEpoch() : events.front().time;
    for (size_t i = 0; i < events.size(); ++i) {
      jl << EventJson(events[i], i, origin).dump() << "\n";  // as /api/events serves it
    }
  }
  std::ofstream svg(dir + "/report.svg");
  if (!svg) return absl::InternalError(absl::StrCat(dir, "/report.svg: cannot write"));
  svg << RenderReportSvg(rows, events, slo_seconds);
  std::ofstream html(dir + "/report.html");
  if (!html) return absl::InternalError(absl::StrCat(dir, "/report.html: cannot write"));
  html << ReportHtml(rows, events, origin, hpa_, slo_seconds);
  return absl::OkStatus();
}

namespace {

struct Series {
  std::string label;
  std::string color;
  std::vector<std::pair<double, double>> points;
  bool dashed = false;
  bool step = false;
};

double NiceCeil(double v) {
  if (!(v > 0)) return 1;
  double p = std::pow(10, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

// One panel: axes with ticks and units, its series and a legend.
// Counts (replicas) get whole-number ticks.
void Panel(std::string* out, double x0, double y0, double w, double h, double t_max,
           const std::string& y_label, const std::vector<Series>& series, bool counts = false) {
  double y_max = 0;
  for (const auto& s : series) {
    for (const auto& [t, v] : s.points) y_max = std::max(y_max, v);
  }
  y_max = counts ? 4 * std::ceil(std::max(y_max + 1, 1.0) / 4) : NiceCeil(y_max * 1.05);
  auto X = [&](double t) { return x0 + w * t / t_max; };
  auto Y = [&](double v) { return y0 + h - h * v / y_max; };
  absl::StrAppend(out,
                  absl::StrFormat("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' "
                                  "stroke='#999'/>\n",
                                  x0, y0, w, h));
  for (int i = 0; i <= 4; ++i) {
    double v = y_max * i / 4;
    absl::StrAppend(out, absl::StrFormat("<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' "
                                         "stroke='#eee'/><text x='%.1f' y='%.1f' "
                                         "text-anchor='end' font-size='11'>%g</text>\n",
                                         x0, x0 + w, Y(v), Y(v), x0 - 4, Y(v) + 4, v));
  }
  absl::StrAppend(out, absl::StrFormat("<text x='%.1f' y='%.1f' font-size='12' "
                                       "transform='rotate(-90 %.1f %.1f)' "
                                       "text-anchor='middle'>%s</text>\n",
                                       x0 - 42, y0 + h / 2, x0 - 42, y0 + h / 2, y_label));
  double lx = x0 + 8;
  for (const auto& s : series) {
    std::string d;
    double prev_v = 0;
    for (size_t i = 0; i < s.points.size(); ++i) {
      auto [t, v] = s.points[i];
      if (i == 0) {
        d = absl::StrFormat("M%.1f,%.1f", X(t), Y(v));
      } else if (s.step) {
        absl::StrAppend(&d, absl::StrFormat(" L%.1f,%.1f L%.1f,%.1f", X(t), Y(prev_v), X(t), Y(v)));
      } else {
        absl::StrAppend(&d, absl::StrFormat(" L%.1f,%.1f", X(t), Y(v)));
      }
      prev_v = v;
    }
    if (!d.empty()) {
      absl::StrAppend(out, absl::StrFormat("<path d='%s' fill='none' stroke='%s' "
                                           "stroke-width='1.8'%s/>\n",
                                           d, s.color, s.dashed ? " stroke-dasharray='6 4'" : ""));
    }
    absl::StrAppend(
        out, absl::StrFormat("<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' "
                             "stroke='%s' stroke-width='2'%s/><text x='%.1f' "
                             "y='%.1f' font-size='11'>%s</text>\n",
                             lx, lx + 18, y0 + 12, y0 + 12, s.color,
                             s.dashed ? " stroke-dasharray='6 4'" : "", lx + 22, y0 + 16, s.label));
    lx += 30 + 7 * static_cast<double>(s.label.size());
  }
}

}  // namespace

std::string RenderReportSvg(const std::vector<TimelineRow>& rows,
                            const std::vector<FleetEvent>& events, double slo_seconds) {
  (void)events;
  const double W = 900, left = 70, right = 20, panel_h = 170, gap = 40, top = 40;
  const double H = top + 3 * panel_h + 2 * gap + 50;
  double t_max = 1;
  for (const auto& r : rows) t_max = std::max(t_max, r.t);
  t_max = NiceCeil(t_max);
  Series in{"arrivals (req/s)", "#1f77b4"}, done{"answered (req/s)", "#2ca02c"},
      err{"errors (req/s)", "#d62728"};
  Series desired{"desired replicas", "#ff7f0e"}, ready{"ready replicas", "#9467bd"};
  Series p99{"p99 at the router (ms)", "#d62728"}, p50{"p50 (ms)", "#1f77b4"},
      slo{absl::StrFormat("SLO %.0f ms", slo_seconds * 1000), "#555"};
  desired.step = ready.step = true;
  slo.dashed = true;
  for (const auto& r : rows) {
    in.points.emplace_back(r.t, r.arrivals);
    done.points.emplace_back(r.t, r.completions);
    err.points.emplace_back(r.t, r.errors);
    desired.points.emplace_back(r.t, r.desired);
    ready.points.emplace_back(r.t, r.ready);
    if (r.p99_seconds) p99.points.emplace_back(r.t, *r.p99_seconds * 1000);
    if (r.p50_seconds) p50.points.emplace_back(r.t, *r.p50_seconds * 1000);
  }
  slo.points = {{0, slo_seconds * 1000}, {t_max, slo_seconds * 1000}};
  std::string out = absl::StrFormat(
      "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
      "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
      "<text x='%.0f' y='24' font-size='15' font-weight='bold'>tide up: request rate, "
      "replicas and p99 latency over time</text>\n",
      W, H, left);
  const double w = W - left - right;
  Panel(&out, left, top, w, panel_h, t_max, "requests / s", {in, done, err});
  Panel(&out, left, top + panel_h + gap, w, panel_h, t_max, "replicas", {desired, ready},
        /*counts=*/true);
  Panel(&out, left, top + 2 * (panel_h + gap), w, panel_h, t_max, "latency (ms)", {p99, p50, slo});
  // The shared time axis.
  const double axis_y = top + 3 * panel_h + 2 * gap;
  for (int i = 0; i <= 10; ++i) {
    double t = t_max * i / 10;
    double x = left + w * i / 10;
    absl::StrAppend(&out, absl::StrFormat("<text x='%.1f' y='%.1f' font-size='11' "
                                          "text-anchor='middle'>%g</text>\n",
                                          x, axis_y + 16, t));
  }
  absl::StrAppend(&out,
                  absl::StrFormat("<text x='%.1f' y='%.1f' font-size='12' "
                                  "text-anchor='middle'>time since start (s)</text>\n</svg>\n",
                                  left + w / 2, axis_y + 36));
  return out;
}

}  // namespace tide::fleet
