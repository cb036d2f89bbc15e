#include "sim_command.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "autoscaler/hpa_spec.h"
#include "backends/simulated/simulated_backend.h"
#include "core/model_config.h"
#include "hpa_command.h"
#include "metrics/metrics.h"
#include "sim/html_report.h"
#include "sim/metrics_pipeline.h"
#include "sim/report.h"
#include "sim/simulation.h"
#include "sim/svg_report.h"
#include "workload/arrivals.h"
#include "workload/interval_arrivals.h"
#include "workload/trace_reader.h"

namespace tide::apps {
namespace {

sim::Nanos ToNanos(double s) { return static_cast<sim::Nanos>(std::llround(s * 1e9)); }

struct Traffic {
  std::unique_ptr<workload::ArrivalProcess> arrivals;  // cloned per policy
  sim::Nanos horizon = sim::kNever;
  double span_s = 0;  // for the progress bar
  std::string description;
};

absl::StatusOr<Traffic> MakeTraffic(const SimCommandOptions& o) {
  Traffic t;
  // Simulated time runs on int64 nanoseconds; a year is far inside it.
  if (o.duration_s && !(*o.duration_s * o.time_scale <= workload::kMaxReplaySeconds)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--duration ", *o.duration_s, " s (times --time-scale ", o.time_scale,
        ") is more than a year of simulated time (", workload::kMaxReplaySeconds, " s)"));
  }
  if (!o.trace.empty()) {
    auto format = workload::ParseTraceFormat(o.trace_format);
    if (!format.ok()) return format.status();
    workload::TraceParseOptions parse{*format, o.seed};
    parse.require_sorted = true;
    parse.spread_intervals = false;  // streamed below
    auto trace = workload::ReadTrace(o.trace, parse);
    if (!trace.ok()) return trace.status();
    workload::TraceReplayOptions replay;
    replay.start_s = o.start_s;
    replay.duration_s = o.duration_s;
    replay.time_scale = o.time_scale;
    replay.rate_scale = o.rate_scale;
    replay.seed = o.seed;
    if (trace->format == workload::TraceFormat::kIntervals) {
      // Streamed one row at a time: memory does not grow with the trace.
      auto stream = workload::StreamIntervals(*trace, replay);
      if (!stream.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(o.trace, ": ", stream.status().message()));
      }
      int64_t count = 0;
      for (const workload::TraceInterval& r : trace->intervals) count += r.count;
      if (trace->intervals.empty() || count == 0) {
        return absl::InvalidArgumentError(absl::StrCat(o.trace, ": the trace holds no requests"));
      }
      const workload::TraceInterval& last = trace->intervals.back();
      double end = o.duration_s ? o.start_s + *o.duration_s : last.start_s + last.width_s;
      t.span_s = std::max(0.0, end - o.start_s) * o.time_scale;
      if (o.duration_s) t.horizon = ToNanos(*o.duration_s * o.time_scale);
      t.arrivals = std::move(*stream);
      t.description = absl::StrCat(o.trace, " (", trace->intervals.size(), " intervals, ", count,
                                   " requests before the window and scales)");
      return t;
    }
    auto offsets = workload::ReplayOffsets(*trace, replay);
    if (!offsets.ok())
      return absl::InvalidArgumentError(absl::StrCat(o.trace, ": ", offsets.status().message()));
    if (offsets->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(o.trace, ": the trace window holds no requests"));
    }
    auto list = std::make_shared<std::vector<absl::Duration>>();
    list->reserve(offsets->size());
    for (double s : *offsets) list->push_back(absl::Nanoseconds(std::llround(s * 1e9)));
    t.span_s = offsets->back();
    if (o.duration_s) {
      t.horizon = ToNanos(*o.duration_s * o.time_scale);
      t.span_s = *o.duration_s * o.time_scale;
    }
    t.arrivals = std::make_unique<workload::ListArrivals>(std::move(list));
    t.description = absl::StrCat(o.trace, " (", offsets->size(), " requests)");
    return t;
  }
  if (!(o.rate > 0)) {
    return absl::InvalidArgumentError("give --trace FILE, or --rate R (> 0) with --duration S");
  }
  if (!o.duration_s || !(*o.duration_s > 0)) {
    return absl::InvalidArgumentError("synthetic arrivals need --duration S (> 0)");
  }
  // Each request is simulated: bound the work as a replay's memory is bounded.
  const double peak = std::max(o.rate, o.peak_rate);
  if (!(peak * *o.duration_s <= 10.0 * static_cast<double>(workload::kMaxReplayRequests))) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rate ", peak, " req/s for --duration ", *o.duration_s, " s is more than ",
                     10 * workload::kMaxReplayRequests,
                     " requests to simulate; lower the rate or the duration"));
  }
  absl::StatusOr<std::unique_ptr<workload::ArrivalProcess>> arrivals;
  if (o.arrivals == "poisson" || o.arrivals == "constant") {
    arrivals = workload::MakeArrivals(o.arrivals, o.rate, o.seed);
  } else {
    workload::ShapeParams shape;
    shape.rate = o.rate;
    shape.peak_rate = o.peak_rate > 0 ? o.peak_rate : 2 * o.rate;
    shape.at_s = o.shape_at_s;
    shape.length_s = o.shape_length_s;
    shape.period_s = o.period_s;
    shape.mmpp_low_s = o.mmpp_low_s;
    shape.mmpp_high_s = o.mmpp_high_s;
    arrivals = workload::MakeShapedArrivals(o.arrivals, shape, o.seed);
  }
  if (!arrivals.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--arrivals ", o.arrivals, ": ", arrivals.status().message()));
  }
  t.arrivals = std::move(*arrivals);
  t.horizon = ToNanos(*o.duration_s);
  t.span_s = *o.duration_s;
  t.description = absl::StrCat(o.arrivals, " ", o.rate, " req/s for ", *o.duration_s, " s");
  return t;
}

absl::Status MakePod(const SimCommandOptions& o, sim::PodSpec* pod, std::string* description) {
  if (!o.model_repository.empty() || !o.model.empty()) {
    if (o.model_repository.empty() || o.model.empty()) {
      return absl::InvalidArgumentError("--model-repository and --model go together");
    }
    std::string dir = absl::StrCat(o.model_repository, "/", o.model);
    auto spec = core::LoadModelConfig(dir, o.model);
    if (!spec.ok()) return spec.status();
    if (spec->backend != "simulated" && !o.profile.empty()) {
      // A measured model: shape from the config, times from the profile.
      pod->instances = spec->instance_count;
      pod->batching.max_batch_size = spec->max_batch_size;
      pod->batching.dynamic = spec->batching.dynamic;
      pod->batching.preferred_batch_sizes.assign(spec->batching.preferred_batch_sizes.begin(),
                                                 spec->batching.preferred_batch_sizes.end());
      pod->batching.max_queue_delay = spec->batching.max_queue_delay;
      pod->max_queue_size =
          spec->batching.max_queue_size > 0 ? spec->batching.max_queue_size : o.max_queue_size;
      *description = absl::StrCat(spec->path, ": ", pod->instances, " instance(s), max batch ",
                                  pod->batching.max_batch_size);
    } else if (spec->backend != "simulated") {
      return absl::InvalidArgumentError(absl::StrCat(
          spec->path, ": backend '", spec->backend,
          "': tide sim takes its service time from the simulated backend's parameters "
          "(compute_ms, per_item_ms, distribution, jitter); use a simulated model with the "
          "times you measured, --profile, or the --compute-ms/--per-item-ms flags"));
    } else {
      auto params = backends::ParseSimulatedParams(*spec);
      if (!params.ok()) return params.status();
      pod->instances = spec->instance_count;
      pod->batching.max_batch_size = spec->max_batch_size;
      pod->batching.dynamic = spec->batching.dynamic;
      pod->batching.preferred_batch_sizes.assign(spec->batching.preferred_batch_sizes.begin(),
                                                 spec->batching.preferred_batch_sizes.end());
      pod->batching.max_queue_delay = spec->batching.max_queue_delay;
      pod->max_queue_size =
          spec->batching.max_queue_size > 0 ? spec->batching.max_queue_size : o.max_queue_size;
      pod->service = backends::ServiceTimeOf(*params);
      pod->burns_cpu = params->mode == backends::SimulatedParams::Mode::kCpu;
      *description = absl::StrCat(spec->path, ": ", pod->instances, " instance(s), max batch ",
                                  pod->batching.max_batch_size, ", ", params->compute_ms, " ms + ",
                                  params->per_item_ms, " ms/row");
    }
  } else {
    if (o.instances < 1) return absl::InvalidArgumentError("--instances must be >= 1");
    if (o.max_batch_size < 0) return absl::InvalidArgumentError("--max-batch-size must be >= 0");
    if (!(o.compute_ms >= 0) || !(o.per_item_ms >= 0) || !(o.jitter >= 0)) {
      return absl::InvalidArgumentError("--compute-ms, --per-item-ms and --jitter must be >= 0");
    }
    pod->instances = o.instances;
    pod->batching.max_batch_size = o.max_batch_size;
    pod->batching.dynamic = o.max_batch_size > 0;
    pod->batching.max_queue_delay = absl::Microseconds(o.max_queue_delay_us);
    pod->max_queue_size = o.max_queue_size;
    pod->service.compute_ms = o.compute_ms;
    pod->service.per_item_ms = o.per_item_ms;
    pod->service.jitter = o.jitter;
    if (o.distribution == "fixed") {
      pod->service.distribution = backends::ServiceTimeDistribution::kFixed;
    } else if (o.distribution == "exponential") {
      pod->service.distribution = backends::ServiceTimeDistribution::kExponential;
    } else if (o.distribution == "lognormal") {
      pod->service.distribution = backends::ServiceTimeDistribution::kLognormal;
    } else {
      return absl::InvalidArgumentError("--distribution must be fixed, exponential or lognormal");
    }
    pod->burns_cpu = !o.sleep_mode;
    *description =
        absl::StrCat(pod->instances, " instance(s), max batch ", pod->batching.max_batch_size, ", ",
                     o.compute_ms, " ms + ", o.per_item_ms, " ms/row, ", o.distribution);
  }
  if (!o.profile.empty()) {
    std::ifstream in(o.profile, std::ios::binary);
    if (!in)
      return absl::InvalidArgumentError(absl::StrCat("--profile: cannot read '", o.profile, "'"));
    std::stringstream text;
    text << in.rdbuf();
    auto profile = sim::ParseServiceProfile(text.str(), o.profile);
    if (!profile.ok()) return profile.status();
    pod->profile = std::move(*profile);
    absl::StrAppend(description, "; service time from ", o.profile, " (",
                    pod->profile->points.size(), " batch sizes)");
  }
  if (pod->max_queue_size < 1) return absl::InvalidArgumentError("--max-queue-size must be >= 1");
  if (!(o.cpu_request > 0)) return absl::InvalidArgumentError("--cpu-request must be > 0");
  pod->cpu_request_cores = o.cpu_request;
  return absl::OkStatus();
}

// A policy's name from its file: the file name without extension, or its
// folder's name when the file is just "hpa.yaml" (deploy/k8s/overlays/hpa-cpu/hpa.yaml
// is "hpa-cpu").
std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = name.find_last_of('.');
  if (dot != std::string::npos && dot != 0) name = name.substr(0, dot);
  if ((name == "hpa" || name == "hpa.yaml") && slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    size_t up = dir.find_last_of('/');
    return up == std::string::npos ? dir : dir.substr(up + 1);
  }
  return name;
}

// Names must tell policies apart (the CSV's columns are named after them).
void MakeNamesUnique(std::vector<sim::PolicySpec>* policies) {
  for (size_t i = 0; i < policies->size(); ++i) {
    int seen = 1;
    for (size_t j = 0; j < i; ++j) {
      if ((*policies)[j].name == (*policies)[i].name) ++seen;
    }
    if (seen > 1) (*policies)[i].name += absl::StrCat("#", seen);
  }
}

// Each HPA of each file, checked as `tide hpa validate` does (same code, same
// messages: the API server's field errors).
absl::Status AddHpaPolicies(const SimCommandOptions& o, std::vector<sim::PolicySpec>* policies,
                            std::ostream& err) {
  for (const std::string& file : o.hpa_files) {
    std::ostringstream vout, verr;
    std::istringstream none;
    tide::app::HpaValidateOptions vo;
    vo.file = file;
    int code = tide::app::RunHpaValidate(vo, none, vout, verr);
    if (code != 0) {
      std::string why = verr.str().empty() ? vout.str() : verr.str();
      while (!why.empty() && why.back() == '\n') why.pop_back();
      return absl::InvalidArgumentError(absl::StrCat("--hpa ", file, ": ", why));
    }
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    auto specs = autoscaler::HpaSpecsFromYaml(text.str());
    if (!specs.ok())
      return absl::InvalidArgumentError(absl::StrCat(file, ": ", specs.status().message()));
    for (const autoscaler::HpaSpec& spec : *specs) {
      sim::PolicySpec p;
      p.kind = sim::PolicySpec::Kind::kHpa;
      p.name = specs->size() == 1 ? absl::StrCat("hpa:", BaseName(file))
                                  : absl::StrCat("hpa:", BaseName(file), "/", spec.name);
      p.hpa = spec;
      p.initial_replicas = o.initial_replicas;
      for (const autoscaler::MetricSpec& m : spec.metrics) {
        std::string why = sim::MetricsPipeline::Unsupported(m);
        if (!why.empty()) err << "tide sim: warning: " << file << ": " << why << "\n";
      }
      policies->push_back(std::move(p));
    }
  }
  return absl::OkStatus();
}

class ProgressBar {
 public:
  ProgressBar(bool enabled, double span_s, size_t policies)
      : enabled_(enabled && isatty(STDERR_FILENO) == 1),
        span_s_(std::max(span_s, 1e-9)),
        policies_(policies),
        start_(absl::Now()) {}
  void Update(size_t index, const std::string& name, double simulated_s) {
    if (!enabled_) return;
    absl::Time now = absl::Now();
    if (now - start_ < absl::Seconds(1) || now - last_ < absl::Milliseconds(100)) return;
    last_ = now;
    shown_ = true;
    double f = (static_cast<double>(index) + std::min(1.0, simulated_s / span_s_)) /
               static_cast<double>(policies_);
    int filled = static_cast<int>(f * 30);
    std::fprintf(stderr, "\r\033[K[%s%s] %5.1f %%  %s (%zu/%zu)", std::string(filled, '#').c_str(),
                 std::string(30 - filled, ' ').c_str(), 100 * f, name.c_str(), index + 1,
                 policies_);
    std::fflush(stderr);
  }
  void Done() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool enabled_;
  double span_s_;
  size_t policies_;
  absl::Time start_;
  absl::Time last_ = absl::InfinitePast();
  bool shown_ = false;
};

bool WriteFile(const std::string& path, const std::string& text, std::ostream& err) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) {
    err << "tide sim: cannot write '" << path << "'\n";
    return false;
  }
  return true;
}

absl::Status Prepare(const SimCommandOptions& o, sim::SimOptions* so,
                     std::vector<sim::PolicySpec>* policies, Traffic* traffic,
                     std::string* pod_description, std::ostream& err) {
  auto t = MakeTraffic(o);
  if (!t.ok()) return t.status();
  *traffic = std::move(*t);
  if (absl::Status s = MakePod(o, &so->pod, pod_description); !s.ok()) return s;
  auto startup = sim::ParseDurationDistribution(o.startup);
  if (!startup.ok())
    return absl::InvalidArgumentError(absl::StrCat("--startup ", startup.status().message()));
  so->cluster.startup = *startup;
  if (o.balance == "random") {
    so->cluster.balance = sim::Balance::kRandom;
  } else if (o.balance == "round-robin") {
    so->cluster.balance = sim::Balance::kRoundRobin;
  } else if (o.balance == "least-outstanding") {
    so->cluster.balance = sim::Balance::kLeastOutstanding;
  } else {
    return absl::InvalidArgumentError("--balance must be random, round-robin or least-outstanding");
  }
  for (double v : {o.readiness_delay_s, o.termination_grace_s, o.adapter_lag_s}) {
    if (!(v >= 0)) {
      return absl::InvalidArgumentError(
          "--readiness-delay, --termination-grace-period and --adapter-lag must be >= 0");
    }
  }
  for (double v : {o.metrics_resolution_s, o.scrape_interval_s, o.rate_window_s, o.sync_period_s,
                   o.slo_latency_s}) {
    if (!(v > 0)) {
      return absl::InvalidArgumentError(
          "--metric-resolution, --scrape-interval, --rate-window, --sync-period and "
          "--slo-latency must be > 0");
    }
  }
  so->cluster.readiness_delay = ToNanos(o.readiness_delay_s);
  so->cluster.termination_grace = ToNanos(o.termination_grace_s);
  so->metrics.metrics_server_resolution = ToNanos(o.metrics_resolution_s);
  so->metrics.scrape_interval = ToNanos(o.scrape_interval_s);
  so->metrics.rate_window = ToNanos(o.rate_window_s);
  so->metrics.adapter_lag = ToNanos(o.adapter_lag_s);
  so->metrics.latency_buckets_s = metrics::LatencyBucketsSeconds();
  so->controller.sync_period = absl::Seconds(o.sync_period_s);
  so->controller.tolerance = o.tolerance;
  so->slo_latency = ToNanos(o.slo_latency_s);
  so->horizon = traffic->horizon;
  so->seed = o.seed;
  // The per-second timeline (~130 bytes per second per policy) only when a
  // file needs it: without, memory does not grow with the run's length.
  so->timeline = !o.timeline_csv_path.empty() || !o.svg_path.empty() || !o.report_dir.empty();

  for (int n : o.fixed) {
    if (n < 1) return absl::InvalidArgumentError(absl::StrCat("--fixed ", n, ": must be >= 1"));
    sim::PolicySpec p;
    p.kind = sim::PolicySpec::Kind::kFixed;
    p.name = absl::StrCat("fixed-", n);
    p.fixed_replicas = n;
    policies->push_back(std::move(p));
  }
  if (absl::Status s = AddHpaPolicies(o, policies, err); !s.ok()) return s;
  if (o.knative) {
    if (!(o.knative_target > 0) || !(o.knative_utilization > 0 && o.knative_utilization <= 100)) {
      return absl::InvalidArgumentError(
          "--knative-target must be > 0 and --knative-utilization in (0, 100]");
    }
    sim::PolicySpec p;
    p.kind = sim::PolicySpec::Kind::kKnative;
    p.name = "knative";
    p.knative.target_concurrency = o.knative_target;
    p.knative.target_utilization = o.knative_utilization / 100;
    p.knative.min_scale = o.knative_min_scale;
    p.knative.max_scale = o.knative_max_scale;
    p.initial_replicas = o.initial_replicas;
    policies->push_back(std::move(p));
  }
  MakeNamesUnique(policies);
  if (policies->empty()) {
    return absl::InvalidArgumentError(
        "give at least one policy: --fixed N, --hpa FILE or --knative");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SimSetup> PrepareSimSetup(const SimCommandOptions& options) {
  SimCommandOptions o = options;
  o.hpa_files.clear();
  o.knative = false;
  o.fixed = {1};  // Prepare wants a policy; this one is dropped
  SimSetup setup;
  std::vector<sim::PolicySpec> policies;
  Traffic traffic;
  std::ostringstream ignored;
  if (absl::Status s = Prepare(o, &setup.options, &policies, &traffic, &setup.pod, ignored);
      !s.ok()) {
    return s;
  }
  setup.arrivals = std::move(traffic.arrivals);
  setup.span_s = traffic.span_s;
  setup.traffic = traffic.description;
  return setup;
}

int RunSimCommand(const SimCommandOptions& o, std::ostream& out, std::ostream& err) {
  sim::SimOptions so;
  std::vector<sim::PolicySpec> policies;
  Traffic traffic;
  std::string pod;
  if (absl::Status s = Prepare(o, &so, &policies, &traffic, &pod, err); !s.ok()) {
    err << "tide sim: " << s.message() << "\n";
    return 1;
  }
  absl::Time wall_start = absl::Now();
  ProgressBar bar(o.progress, traffic.span_s, policies.size());
  std::vector<sim::PolicyResult> results;
  for (size_t i = 0; i < policies.size(); ++i) {
    std::unique_ptr<workload::ArrivalProcess> arrivals = traffic.arrivals->Clone();
    const std::string& name = policies[i].name;
    auto r =
        sim::Simulate(so, policies[i], arrivals.get(), [&](double t) { bar.Update(i, name, t); });
    if (!r.ok()) {
      bar.Done();
      err << "tide sim: " << name << ": " << r.status().message() << "\n";
      return 1;
    }
    results.push_back(std::move(*r));
  }
  bar.Done();
  double wall = o.fixed_wall_seconds ? *o.fixed_wall_seconds
                                     : absl::ToDoubleSeconds(absl::Now() - wall_start);
  out << "tide sim: " << traffic.description << "; pod: " << pod << "\n\n"
      << sim::ResultsTable(results, o.slo_latency_s);
  if (!o.json_path.empty() && !WriteFile(o.json_path, sim::ResultsJson(results, wall), err))
    return 2;
  if (!o.timeline_csv_path.empty() &&
      !WriteFile(o.timeline_csv_path, sim::TimelineCsv(results), err)) {
    return 2;
  }
  if (!o.svg_path.empty() &&
      !WriteFile(o.svg_path,
                 sim::SvgReport(results, o.slo_latency_s, "tide sim: " + traffic.description),
                 err)) {
    return 2;
  }
  if (!o.report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.report_dir, ec);
    const std::string title = "tide sim: " + traffic.description;
    const std::string dir = o.report_dir + "/";
    if (ec ||
        !WriteFile(dir + "report.html", sim::HtmlReport(results, o.slo_latency_s, title), err) ||
        !WriteFile(dir + "results.json", sim::ResultsJson(results, wall), err) ||
        !WriteFile(dir + "timeline.csv", sim::TimelineCsv(results), err) ||
        !WriteFile(dir + "report.svg", sim::SvgReport(results, o.slo_latency_s, title), err)) {
      if (ec) err << "tide sim: --report " << o.report_dir << ": " << ec.message() << "\n";
      return 2;
    }
    out << "\ntide sim: report written to " << o.report_dir
        << " (report.html, results.json, timeline.csv, report.svg)\n";
  }
  return 0;
}

}  // namespace tide::apps
