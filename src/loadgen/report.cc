#include "loadgen/report.h"

#include <fstream>

#include "loadgen/text.h"

namespace tide::loadgen {
namespace {

using json = nlohmann::json;

double Ms(int64_t ns) { return ns / 1e6; }

std::string LevelName(const LevelReport& l) {
  if (l.mode == "concurrency") return Cat("concurrency ", l.level);
  if (l.mode == "rate") return Cat("rate ", l.level, "/s");
  return "trace";
}

json LatencyJson(const workload::Histogram& h) {
  return {{"count", h.Count()},
          {"mean_ms", h.Mean() / 1e6},
          {"p50_ms", Ms(h.Percentile(0.50))},
          {"p90_ms", Ms(h.Percentile(0.90))},
          {"p95_ms", Ms(h.Percentile(0.95))},
          {"p99_ms", Ms(h.Percentile(0.99))},
          {"p99_9_ms", Ms(h.Percentile(0.999))},
          {"max_ms", Ms(h.Max())},
          {"min_ms", Ms(h.Min())}};
}

struct SecondSummary {
  double p50_ms = 0, p99_ms = 0;
};

SecondSummary Summarize(const TimelineSecond& s, int sub_bits) {
  if (s.latency_buckets.empty()) return {};
  workload::Histogram h(sub_bits);
  h.AddBuckets(s.latency_buckets);
  return {Ms(h.Percentile(0.5)), Ms(h.Percentile(0.99))};
}

std::string OptionsLine(const LoadReport& r) {
  const LoadOptions& o = r.options;
  if (r.levels.empty()) return "";
  const std::string& mode = r.levels[0].mode;
  std::string s;
  if (mode == "concurrency") {
    s = "closed loop (latency from each request's actual send)";
  } else if (mode == "rate") {
    s = Cat("open loop, ", o.arrivals,
            " arrivals (latency from each request's intended send time)");
  } else {
    s = Cat("trace replay of ", o.trace, " (time x", o.time_scale, ", rate x", o.rate_scale,
            "; latency from intended send time)");
  }
  if (mode != "trace") {
    if (o.duration_s || o.requests == 0)
      Append(&s, ", ", o.duration_s.value_or(10), " s per level");
    if (o.requests > 0) Append(&s, ", ", o.requests, " requests per level");
  }
  if (o.warmup_s > 0) Append(&s, ", warm-up ", o.warmup_s, " s excluded");
  Append(&s, ", ", o.threads, " thread(s)");
  return s;
}

}  // namespace

std::string FormatReport(const LoadReport& r) {
  std::string out = Cat("tide load: ", r.target, "\n", OptionsLine(r), "\n\n");
  if (r.levels.empty()) return out + "no level was run\n";
  const bool open = r.levels[0].result.open_loop;
  if (open) {
    Append(
        &out,
        fmt::format("{:>14} {:>10} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7}\n",
                    r.levels[0].mode == "trace" ? "offered/s" : "rate/s", "sent/s", "throughput/s",
                    "p50 ms", "p90 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms", "errors", "cpu"));
  } else {
    Append(&out, fmt::format("{:>14} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7}\n",
                             "concurrency", "throughput/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms",
                             "p99.9 ms", "max ms", "errors", "cpu"));
  }
  for (const LevelReport& l : r.levels) {
    const EngineResult& e = l.result;
    const workload::Histogram& h = e.latency;
    const std::string cpu = fmt::format("{:.0f}%", e.wall_s > 0 ? 100 * e.cpu_s / e.wall_s : 0);
    const std::string pcts =
        fmt::format("{:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f}", Ms(h.Percentile(0.5)),
                    Ms(h.Percentile(0.9)), Ms(h.Percentile(0.95)), Ms(h.Percentile(0.99)),
                    Ms(h.Percentile(0.999)), Ms(h.Max()));
    if (open) {
      Append(&out, fmt::format("{:>14.1f} {:>10.1f} {:>12.1f} {} {:>8} {:>7}\n", l.level,
                               e.window_s > 0 ? e.sent / e.window_s : 0, e.Throughput(), pcts,
                               e.failed, cpu));
    } else {
      Append(&out, fmt::format("{:>14} {:>12.1f} {} {:>8} {:>7}\n", l.level, e.Throughput(), pcts,
                               e.failed, cpu));
    }
  }
  out += "\n";
  for (const LevelReport& l : r.levels) {
    const EngineResult& e = l.result;
    Append(&out, LevelName(l), ": ", e.ok, " ok, ", e.failed, " failed in ",
           fmt::format("{:.2f}", e.window_s), " s");
    if (e.abandoned) Append(&out, ", ", e.abandoned, " abandoned at stop");
    Append(&out, "; service time (from actual send) p50 ",
           fmt::format("{:.3f}", Ms(e.service_time.Percentile(0.5))), " ms, p99 ",
           fmt::format("{:.3f}", Ms(e.service_time.Percentile(0.99))), " ms\n");
    if (!e.errors.empty()) {
      out += "  errors:";
      for (const auto& [cause, n] : e.errors) Append(&out, " ", cause, " ", n, ";");
      out.back() = '\n';
    }
    if (l.server) {
      const ServerBreakdown& s = *l.server;
      Append(&out, "  server: ", s.success, " ok, ", s.failure, " failed, ", s.rejected,
             " rejected; queue mean ", fmt::format("{:.3f}", s.mean_queue_s * 1e3), " ms (p99 ~",
             fmt::format("{:.3f}", s.p99_queue_s * 1e3), "), compute mean ",
             fmt::format("{:.3f}", s.mean_compute_s * 1e3), " ms (p99 ~",
             fmt::format("{:.3f}", s.p99_compute_s * 1e3), "), batch ",
             fmt::format("{:.2f}", s.mean_batch_size), " items/execution");
      if (s.cpu_s) Append(&out, ", server CPU ", fmt::format("{:.2f}", *s.cpu_s), " s");
      out += "\n";
    } else if (!l.server_note.empty()) {
      Append(&out, "  server: ", l.server_note, "\n");
    }
    Append(&out, "  client: ", fmt::format("{:.2f}", e.cpu_s), " CPU-s over ",
           fmt::format("{:.2f}", e.wall_s),
           " s = ", fmt::format("{:.2f}", e.wall_s > 0 ? e.cpu_s / e.wall_s : 0), " cores of ",
           r.client_cpus, "; busiest worker ", fmt::format("{:.0f}", 100 * e.max_worker_busy),
           " %; ", e.connections_opened, " connections opened");
    if (e.open_loop) {
      Append(&out, "; dispatch lag p99 ",
             fmt::format("{:.3f}", Ms(e.dispatch_lag.Percentile(0.99))), " ms");
    }
    out += "\n";
    for (const std::string& w : l.warnings) Append(&out, "  WARNING: ", w, "\n");
  }
  if (!r.sweep_stop.empty()) Append(&out, "\nsweep stopped early: ", r.sweep_stop, "\n");
  return out;
}

json ReportToJson(const LoadReport& r) {
  const LoadOptions& o = r.options;
  json shapes = json::object();
  for (const auto& [name, dims] : o.shapes) shapes[name] = dims;
  json config = {{"url", o.url},
                 {"model", o.model},
                 {"model_version", o.model_version},
                 {"http_get", o.http_get},
                 {"batch_size", o.batch_size},
                 {"shapes", shapes},
                 {"input_data", o.input_data},
                 {"binary", o.binary},
                 {"protocol", o.protocol},
                 {"grpc_contents", o.protocol == "grpc" ? json(o.grpc_contents) : json(nullptr)},
                 {"seed", o.seed},
                 {"concurrency", o.concurrency},
                 {"rate", o.rate},
                 {"arrivals", o.arrivals},
                 {"trace", o.trace},
                 {"trace_format", o.trace_format},
                 {"time_scale", o.time_scale},
                 {"rate_scale", o.rate_scale},
                 {"trace_start_s", o.trace_start_s},
                 {"duration_s", o.duration_s ? json(*o.duration_s) : json(nullptr)},
                 {"warmup_s", o.warmup_s},
                 {"requests", o.requests},
                 {"timeout_s", o.timeout_s},
                 {"threads", o.threads},
                 {"max_connections", o.max_connections},
                 {"metrics_url", o.metrics_url},
                 {"sweep_min_gain", o.sweep.min_gain},
                 {"sweep_patience", o.sweep.patience}};
  json levels = json::array();
  for (const LevelReport& l : r.levels) {
    const EngineResult& e = l.result;
    json timeline = json::array();
    for (size_t s = 0; s < e.timeline.size(); ++s) {
      const TimelineSecond& t = e.timeline[s];
      SecondSummary sum = Summarize(t, e.timeline_sub_bits);
      timeline.push_back({{"t_s", s},
                          {"scheduled", t.scheduled},
                          {"sent", t.sent},
                          {"completed", t.completed},
                          {"errors", t.errors},
                          {"p50_ms", sum.p50_ms},
                          {"p99_ms", sum.p99_ms},
                          {"max_in_flight", t.max_in_flight},
                          {"max_queued", t.max_queued}});
    }
    json server = nullptr;
    if (l.server) {
      const ServerBreakdown& s = *l.server;
      server = {{"success", s.success},
                {"failure", s.failure},
                {"rejected", s.rejected},
                {"executions", s.executions},
                {"mean_batch_size", s.mean_batch_size},
                {"mean_request_ms", s.mean_request_s * 1e3},
                {"mean_queue_ms", s.mean_queue_s * 1e3},
                {"mean_compute_ms", s.mean_compute_s * 1e3},
                {"p99_request_ms", s.p99_request_s * 1e3},
                {"p99_queue_ms", s.p99_queue_s * 1e3},
                {"p99_compute_ms", s.p99_compute_s * 1e3},
                {"cpu_s", s.cpu_s ? json(*s.cpu_s) : json(nullptr)}};
    }
    levels.push_back({{"mode", l.mode},
                      {"level", l.level},
                      {"open_loop", e.open_loop},
                      {"window_s", e.window_s},
                      {"scheduled", e.scheduled},
                      {"sent", e.sent},
                      {"ok", e.ok},
                      {"failed", e.failed},
                      {"abandoned", e.abandoned},
                      {"stopped", e.stopped},
                      {"throughput_rps", e.Throughput()},
                      {"send_rate_rps", e.window_s > 0 ? e.sent / e.window_s : 0},
                      {"latency", LatencyJson(e.latency)},
                      {"latency_basis", e.open_loop ? "intended send time" : "actual send time"},
                      {"service_time", LatencyJson(e.service_time)},
                      {"answered_error_service_time", LatencyJson(e.answered_error_service_time)},
                      {"histogram_relative_error", e.latency.RelativeError()},
                      {"errors", e.errors},
                      {"client",
                       {{"cpu_s", e.cpu_s},
                        {"wall_s", e.wall_s},
                        {"cores_used", e.wall_s > 0 ? e.cpu_s / e.wall_s : 0},
                        {"cpus", r.client_cpus},
                        {"max_worker_busy", e.max_worker_busy},
                        {"connections_opened", e.connections_opened},
                        {"dispatch_lag_p99_ms", Ms(e.dispatch_lag.Percentile(0.99))},
                        {"late_dispatches", e.late_dispatches},
                        {"queued_requests", e.queued_requests}}},
                      {"server", server},
                      {"server_note", l.server_note},
                      {"warnings", l.warnings},
                      {"timeline", timeline}});
  }
  return {{"tool", "tide load"},  {"target", r.target},         {"config", config},
          {"stopped", r.stopped}, {"sweep_stop", r.sweep_stop}, {"levels", levels}};
}

std::string ReportToCsv(const LoadReport& r) {
  std::string out =
      "mode,level,window_s,scheduled,sent,ok,failed,throughput_rps,p50_ms,p90_ms,p95_ms,p99_ms,"
      "p99_9_ms,max_ms,mean_ms,client_cpu_s,server_mean_queue_ms,server_mean_compute_ms,"
      "server_mean_batch\n";
  for (const LevelReport& l : r.levels) {
    const EngineResult& e = l.result;
    const workload::Histogram& h = e.latency;
    Append(&out, l.mode, ",", l.level, ",", e.window_s, ",", e.scheduled, ",", e.sent, ",", e.ok,
           ",", e.failed, ",", e.Throughput(), ",", Ms(h.Percentile(0.5)), ",",
           Ms(h.Percentile(0.9)), ",", Ms(h.Percentile(0.95)), ",", Ms(h.Percentile(0.99)), ",",
           Ms(h.Percentile(0.999)), ",", Ms(h.Max()), ",", h.Mean() / 1e6, ",", e.cpu_s, ",");
    if (l.server) {
      Append(&out, l.server->mean_queue_s * 1e3, ",", l.server->mean_compute_s * 1e3, ",",
             l.server->mean_batch_size, "\n");
    } else {
      out += ",,\n";
    }
  }
  return out;
}

std::string TimelineToCsv(const LoadReport& r) {
  std::string out =
      "mode,level,t_s,scheduled,sent,completed,errors,p50_ms,p99_ms,max_in_flight,max_queued\n";
  for (const LevelReport& l : r.levels) {
    const EngineResult& e = l.result;
    for (size_t s = 0; s < e.timeline.size(); ++s) {
      const TimelineSecond& t = e.timeline[s];
      SecondSummary sum = Summarize(t, e.timeline_sub_bits);
      Append(&out, l.mode, ",", l.level, ",", s, ",", t.scheduled, ",", t.sent, ",", t.completed,
             ",", t.errors, ",", sum.p50_ms, ",", sum.p99_ms, ",", t.max_in_flight, ",",
             t.max_queued, "\n");
    }
  }
  return out;
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(Cat("cannot write '", path, "'"));
  out << contents;
  out.close();
  if (!out) return absl::DataLossError(Cat("error writing '", path, "'"));
  return absl::OkStatus();
}

}  // namespace tide::loadgen
