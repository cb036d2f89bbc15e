#include "tune_command.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/quantity.h"
#include "nlohmann/json.hpp"
#include "sim/report.h"
#include "sim/simulation.h"
#include "tune/hpa_yaml.h"
#include "tune/tune.h"
#include "tune/tune_svg.h"
#include "tune_resources.h"

namespace tide::apps {
namespace {

// One policy's figures on the in-sample part and on the held-out part.
struct Row {
  std::string name;
  sim::PolicyResult in;
  std::optional<sim::PolicyResult> held;
};

// Runs `policy` on the in-sample part, then on the held-out part starting
// from the replicas it had at the end of the in-sample part. With
// `keep_timeline`, both results keep their per-second timelines.
absl::StatusOr<Row> Evaluate(sim::PolicySpec policy, const SimSetup& in, const SimSetup* held,
                             bool keep_timeline = false) {
  Row row;
  row.name = policy.name;
  sim::SimOptions so = in.options;
  so.timeline = held != nullptr || keep_timeline;
  auto r = tune::Run(so, policy, *in.arrivals);
  if (!r.ok()) return r.status();
  row.in = std::move(*r);
  if (held != nullptr) {
    if (!row.in.timeline.empty()) {
      policy.initial_replicas = std::max(1, row.in.timeline.back().ready);
    }
    if (!keep_timeline) row.in.timeline.clear();
    sim::SimOptions ho = held->options;
    ho.timeline = keep_timeline;
    auto h = tune::Run(ho, policy, *held->arrivals);
    if (!h.ok()) return h.status();
    row.held = std::move(*h);
  }
  return row;
}

std::string Attainment(double a) { return absl::StrFormat("%.4f", a); }

nlohmann::json ResultJson(const sim::PolicyResult& r, double slo_attainment) {
  return {{"slo_attainment", r.slo_attainment},
          {"meets_slo", r.slo_attainment >= slo_attainment},
          {"replica_seconds", r.replica_seconds},
          {"replicas_mean", r.replicas_mean},
          {"replicas_max", r.replicas_max},
          {"scale_ups", r.scale_ups},
          {"scale_downs", r.scale_downs},
          {"latency_p99_s", r.latency_p99_s},
          {"requests", r.requests},
          {"rejected", r.rejected}};
}

bool WriteFile(const std::string& path, const std::string& text, std::ostream& err) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) {
    err << "tide tune: cannot write '" << path << "'\n";
    return false;
  }
  return true;
}

template <typename T, typename U>
void Override(const std::vector<T>& from, std::vector<U>* to) {
  if (!from.empty()) to->assign(from.begin(), from.end());
}

// The highest request rate one ready replica gets, over 10-second windows of
// a timeline (what --measure-resources loads one server with).
double PerReplicaPeakRate(const std::vector<sim::TimelineRow>& timeline) {
  double peak = 0;
  for (size_t i = 0; i < timeline.size(); i += 10) {
    double arrivals = 0, ready = 0;
    for (size_t j = i; j < std::min(timeline.size(), i + 10); ++j) {
      arrivals += static_cast<double>(timeline[j].arrivals);
      ready += std::max(1, timeline[j].ready);
    }
    peak = std::max(peak, arrivals / ready);
  }
  return peak;
}

// --measure-resources: runs tide serve, checks --memory-limit, writes the
// patch. 0, or the exit code.
int MeasureAndWritePatch(const TuneCommandOptions& o, const tune::Evaluation& best, double rate,
                         std::optional<int64_t> memory_limit, std::ostream& out,
                         std::ostream& err) {
  MeasureOptions mo;
  mo.model_repository = o.sim.model_repository;
  mo.model = o.sim.model;
  mo.rate = std::max(rate, 0.1);
  mo.seconds = o.measure_seconds;
  mo.seed = o.sim.seed;
  out << absl::StrFormat(
      "\nResources: tide serve on %s, each model alone, then all with %s at %.2f req/s (the "
      "recommendation's per-replica peak) for %s s:\n",
      o.sim.model_repository, o.sim.model, mo.rate, sim::FormatNumber(o.measure_seconds));
  out.flush();
  auto m = MeasureResources(mo, out);
  if (!m.ok()) {
    err << "tide tune: --measure-resources: " << m.status().message() << "\n";
    return 4;
  }
  ResourceOptions ro;
  ro.memory_headroom = o.memory_headroom;
  ro.memory_limit_bytes = memory_limit;
  ro.memory_limit_text = o.memory_limit;
  ro.cpu_request_cores = o.sim.cpu_request;
  if (!best.is_fixed && best.candidate.metric == tune::Metric::kCpu) {
    ro.cpu_target = absl::StrCat(tune::TargetQuantity(best.candidate), " %");
  }
  ResourceRecommendation rec = RecommendResources(ro, *m);
  for (const std::string& w : rec.warnings) out << "  warning: " << w << "\n";
  if (!rec.problems.empty()) {
    for (const std::string& p : rec.problems) err << "tide tune: --memory-limit: " << p << "\n";
    err << "tide tune: no resources patch written: raise --memory-limit or serve fewer or "
           "smaller models per pod\n";
    return 4;
  }
  out << absl::StrFormat("  requests: cpu %s, memory %s; limits: cpu %s, memory %s\n",
                         rec.cpu_request, MemoryQuantity(rec.memory_request_bytes), rec.cpu_limit,
                         MemoryQuantity(rec.memory_limit_bytes));
  std::string path = o.resources_patch_path;
  if (path.empty()) {
    std::filesystem::path dir = std::filesystem::path(o.output_path).parent_path();
    path =
        (dir.empty() ? std::filesystem::path("resources-patch.yaml") : dir / "resources-patch.yaml")
            .string();
  }
  std::string command = absl::StrCat(
      "tide tune --model-repository ", o.sim.model_repository, " --model ", o.sim.model,
      " --measure-resources", o.memory_limit.empty() ? "" : " --memory-limit " + o.memory_limit);
  if (!WriteFile(path, ResourcesPatchYaml(ro, *m, rec, command), err)) return 2;
  out << "  written to " << path << "\n";
  return 0;
}

}  // namespace

int RunTuneCommand(const TuneCommandOptions& o, std::ostream& out, std::ostream& err) {
  if (!(o.holdout >= 0 && o.holdout < 1)) {
    err << "tide tune: --holdout must be in [0, 1) (a share of the trace)\n";
    return 1;
  }
  if (o.jobs < 1) {
    err << "tide tune: --jobs must be >= 1\n";
    return 1;
  }
  const bool measure = o.measure_resources || !o.resources_patch_path.empty();
  std::optional<int64_t> memory_limit;
  if (measure) {
    if (o.sim.model_repository.empty() || o.sim.model.empty()) {
      err << "tide tune: --measure-resources needs --model-repository and --model (the server "
             "to measure)\n";
      return 1;
    }
    if (!(o.memory_headroom >= 0 && o.memory_headroom <= 10)) {
      err << "tide tune: --memory-headroom must be in [0, 10] (a share above the peak)\n";
      return 1;
    }
    if (!(o.measure_seconds > 0 && o.measure_seconds <= 3600)) {
      err << "tide tune: --measure-seconds must be in (0, 3600]\n";
      return 1;
    }
  }
  if (!o.memory_limit.empty()) {
    auto q = autoscaler::Quantity::Parse(o.memory_limit);
    if (!q.ok() || q->MilliValue() <= 0) {
      err << "tide tune: --memory-limit '" << o.memory_limit
          << "': not a positive Kubernetes quantity (e.g. 512Mi, 1Gi)\n";
      return 1;
    }
    if (!measure) {
      err << "tide tune: --memory-limit needs --measure-resources (the figures it is checked "
             "against)\n";
      return 1;
    }
    memory_limit = q->Value();
  }
  auto full = PrepareSimSetup(o.sim);
  if (!full.ok()) {
    err << "tide tune: " << full.status().message() << "\n";
    return 1;
  }
  // The in-sample part (the search) and the held-out part (the check).
  SimCommandOptions in_o = o.sim, held_o = o.sim;
  const double span = full->span_s / std::max(o.sim.time_scale, 1e-12);  // trace seconds
  const double split = span * (1 - o.holdout);
  if (o.holdout > 0) {
    in_o.duration_s = split;
    if (!o.sim.trace.empty()) held_o.start_s = o.sim.start_s + split;
    held_o.duration_s = span - split;
  }
  auto in = PrepareSimSetup(in_o);
  if (!in.ok()) {
    err << "tide tune: in-sample part: " << in.status().message() << "\n";
    return 1;
  }
  std::optional<SimSetup> held;
  if (o.holdout > 0) {
    auto h = PrepareSimSetup(held_o);
    if (!h.ok()) {
      err << "tide tune: held-out part: " << h.status().message() << "\n";
      return 1;
    }
    held = std::move(*h);
  }

  tune::TuneOptions to;
  to.sim = in->options;
  to.slo_attainment = o.slo_attainment;
  to.max_replicas = o.max_replicas;
  to.model = o.sim.model.empty() ? "simulated" : o.sim.model;
  to.metrics.clear();
  for (const std::string& m : o.metrics) {
    auto metric = tune::ParseMetric(m);
    if (!metric.ok()) {
      err << "tide tune: --metrics: " << metric.status().message() << "\n";
      return 1;
    }
    to.metrics.push_back(*metric);
  }
  Override(o.cpu_targets, &to.cpu_targets);
  Override(o.queue_targets, &to.queue_targets);
  Override(o.p99_fractions, &to.p99_fractions);
  Override(o.up_windows, &to.up_windows);
  Override(o.up_percents, &to.up_percents);
  Override(o.down_windows, &to.down_windows);
  Override(o.down_percents, &to.down_percents);
  to.keep = o.keep;
  to.jobs = o.jobs;
  if (o.robust < 0 || o.robust > 10) {
    err << "tide tune: --robust must be in [0, 10] (copies of the trace)\n";
    return 1;
  }
  std::vector<double> factors = tune::RobustRateFactors(o.robust);
  for (int k = 0; k < o.robust; ++k) {
    // The same flags, the rate scaled and the seed changed: the same code
    // (PrepareSimSetup) makes the copy as it makes the original.
    SimCommandOptions c = in_o;
    c.seed = tune::RobustSeed(o.sim.seed, k);
    if (!c.trace.empty()) {
      c.rate_scale *= factors[k];
    } else {
      c.rate *= factors[k];
      if (c.peak_rate > 0) c.peak_rate *= factors[k];
    }
    auto copy = PrepareSimSetup(c);
    if (!copy.ok()) {
      err << "tide tune: --robust copy " << k + 1 << ": " << copy.status().message() << "\n";
      return 1;
    }
    tune::Scenario sc;
    sc.name = absl::StrFormat("x%s rate, seed %d", sim::FormatNumber(factors[k]), c.seed);
    sc.sim = copy->options;
    sc.arrivals = std::move(copy->arrivals);
    to.robust.push_back(std::move(sc));
  }

  // The seed's CPU HPA, read before the search so a bad file fails fast.
  std::optional<autoscaler::HpaSpec> seed;
  if (!o.reference_hpa.empty()) {
    std::ifstream f(o.reference_hpa);
    if (f) {
      std::stringstream text;
      text << f.rdbuf();
      auto specs = autoscaler::HpaSpecsFromYaml(text.str());
      if (!specs.ok() || specs->size() != 1) {
        err << "tide tune: --reference-hpa " << o.reference_hpa << ": "
            << (specs.ok() ? "expected one HorizontalPodAutoscaler" : specs.status().message())
            << "\n";
        return 1;
      }
      seed = (*specs)[0];
      seed->max_replicas = o.max_replicas;  // the same cap as the candidates
    } else {
      err << "tide tune: warning: --reference-hpa " << o.reference_hpa
          << " cannot be read; no seed CPU HPA row\n";
    }
  }

  const bool tty = o.progress && isatty(STDERR_FILENO) == 1;
  absl::Time start = absl::Now();
  absl::Time last = absl::InfinitePast();
  bool shown = false;
  auto progress = [&](size_t n, const tune::Evaluation* best) {
    if (!tty) return;
    absl::Time now = absl::Now();
    if (now - last < absl::Milliseconds(200)) return;
    last = now;
    shown = true;
    std::string b = best == nullptr
                        ? "-"
                        : absl::StrFormat("%s: %s attainment, %.0f replica-s", best->name,
                                          Attainment(best->result.slo_attainment),
                                          best->result.replica_seconds);
    std::fprintf(stderr, "\r\033[K%zu evaluated, %.0f s; best so far: %s", n,
                 absl::ToDoubleSeconds(now - start), b.c_str());
    std::fflush(stderr);
  };
  auto result = tune::Tune(to, *in->arrivals, progress);
  if (shown) std::fprintf(stderr, "\r\033[K");
  if (!result.ok()) {
    err << "tide tune: " << result.status().message() << "\n";
    return 1;
  }
  const tune::TuneResult& r = *result;

  // The recommendation and the references, in-sample and held out.
  std::vector<Row> rows;
  const SimSetup* held_ptr = held ? &*held : nullptr;
  auto add = [&](sim::PolicySpec p) -> absl::Status {
    auto row = Evaluate(std::move(p), *in, held_ptr);
    if (!row.ok()) return row.status();
    rows.push_back(std::move(*row));
    return absl::OkStatus();
  };
  const tune::Evaluation& best = r.evaluations[r.best];
  {
    sim::PolicySpec p;
    p.kind = sim::PolicySpec::Kind::kHpa;
    p.name = "recommended: " + best.name;
    p.hpa = tune::ToHpaSpec(best.candidate, to.model);
    auto row = Evaluate(std::move(p), *in, held_ptr, /*keep_timeline=*/true);
    if (!row.ok()) {
      err << "tide tune: " << row.status().message() << "\n";
      return 1;
    }
    rows.push_back(std::move(*row));
  }
  if (seed) {
    sim::PolicySpec p;
    p.kind = sim::PolicySpec::Kind::kHpa;
    p.name = "seed CPU HPA (" + o.reference_hpa + ")";
    p.hpa = *seed;
    if (absl::Status s = add(p); !s.ok()) {
      err << "tide tune: --reference-hpa: " << s.message() << "\n";
      return 1;
    }
  }
  if (o.knative) {
    sim::PolicySpec p;
    p.kind = sim::PolicySpec::Kind::kKnative;
    p.name = "Knative KPA (defaults)";
    p.knative.max_scale = o.max_replicas;
    if (absl::Status s = add(p); !s.ok()) {
      err << "tide tune: " << s.message() << "\n";
      return 1;
    }
  }
  if (r.cheapest_fixed >= 0) {
    sim::PolicySpec p;
    p.kind = sim::PolicySpec::Kind::kFixed;
    p.fixed_replicas = r.evaluations[r.cheapest_fixed].fixed_replicas;
    p.name = absl::StrCat("cheapest fixed fleet: ", p.fixed_replicas);
    if (absl::Status s = add(p); !s.ok()) {
      err << "tide tune: " << s.message() << "\n";
      return 1;
    }
  }
  double wall =
      o.fixed_wall_seconds ? *o.fixed_wall_seconds : absl::ToDoubleSeconds(absl::Now() - start);

  // The terminal report.
  const double slo_s = o.sim.slo_latency_s;
  out << "tide tune: " << full->traffic << "; pod: " << full->pod << "\n";
  out << absl::StrFormat("SLO: latency <= %s s for >= %s of requests; maxReplicas %d\n",
                         sim::FormatNumber(slo_s), sim::FormatNumber(o.slo_attainment),
                         o.max_replicas);
  if (held) {
    out << absl::StrFormat(
        "in-sample: the first %.0f %% (%.0f s); held out: the last %.0f %% (%.0f s)\n",
        100 * (1 - o.holdout), split * o.sim.time_scale, 100 * o.holdout,
        (span - split) * o.sim.time_scale);
  }
  if (!to.robust.empty()) {
    out << "robust: a candidate meets the SLO only if it also meets it on " << to.robust.size()
        << " copies of the in-sample part:";
    for (const tune::Scenario& c : to.robust) out << " [" << c.name << "]";
    out << "; cost is on the original\n";
  }
  out << absl::StrFormat("%zu configurations simulated in %.1f s\n\n", r.evaluations.size(), wall);
  out << "Pareto front of the HPA candidates (in-sample; replica-seconds vs SLO attainment):\n";
  const bool robust = !to.robust.empty();
  out << absl::StrFormat("  %12s  %10s  %6s  %s%s\n", "replica-s", "attainment", "events",
                         robust ? "worst copy  " : "", "configuration");
  for (int i : tune::ParetoFront(r.evaluations)) {
    const tune::Evaluation& e = r.evaluations[i];
    out << absl::StrFormat(
        "  %12.0f  %10s  %6d  %s%s%s\n", e.result.replica_seconds,
        Attainment(e.result.slo_attainment), e.result.scale_ups + e.result.scale_downs,
        robust ? absl::StrFormat("%10s  ", Attainment(tune::WorstAttainment(e))) : "", e.name,
        i == r.best ? "  <- recommended" : "");
  }
  out << "\n";
  size_t width = 6;
  for (const Row& row : rows) width = std::max(width, row.name.size());
  const int w = static_cast<int>(width);
  out << absl::StrFormat("  %-*s  %12s  %10s", w, "policy", "replica-s", "attainment");
  if (held) out << absl::StrFormat("  %12s  %10s", "held-out r-s", "held-out");
  out << "\n";
  for (const Row& row : rows) {
    out << absl::StrFormat("  %-*s  %12.0f  %10s", w, row.name, row.in.replica_seconds,
                           Attainment(row.in.slo_attainment));
    if (row.held) {
      out << absl::StrFormat("  %12.0f  %10s%s", row.held->replica_seconds,
                             Attainment(row.held->slo_attainment),
                             row.held->slo_attainment >= o.slo_attainment ? "" : "  (misses)");
    }
    out << "\n";
  }
  out << "\n";
  if (r.met) {
    out << "Recommended: " << best.name << "\n";
  } else {
    out << absl::StrFormat(
        "No configuration meets the SLO within maxReplicas %d: the best attainment found is %s "
        "(%s); raise --max-replicas, or a faster replica is needed.\n",
        o.max_replicas, Attainment(best.result.slo_attainment), best.name);
  }

  if (!o.output_path.empty()) {
    tune::YamlComments why = tune::Explain(r, r.best, o.slo_attainment);
    why.header.push_back("Recommended by tide tune (docs/tune.md) for " + full->traffic);
    why.header.push_back("pod: " + full->pod);
    why.header.push_back(absl::StrFormat("SLO: latency <= %s s for >= %s of requests.",
                                         sim::FormatNumber(slo_s),
                                         sim::FormatNumber(o.slo_attainment)));
    if (!r.met) why.header.push_back("WARNING: it does NOT meet the SLO: the best found.");
    const Row& rec = rows[0];
    why.header.push_back(
        absl::StrFormat("In-sample: %s attainment, %.0f replica-s, %d scaling events.",
                        Attainment(rec.in.slo_attainment), rec.in.replica_seconds,
                        rec.in.scale_ups + rec.in.scale_downs));
    if (rec.held) {
      why.header.push_back(absl::StrFormat(
          "Held out (last %.0f %%): %s attainment, %.0f replica-s.", 100 * o.holdout,
          Attainment(rec.held->slo_attainment), rec.held->replica_seconds));
    }
    if (!to.robust.empty()) {
      std::string copies;
      for (const tune::Scenario& c : to.robust) absl::StrAppend(&copies, " [", c.name, "]");
      why.header.push_back(absl::StrCat("Robust: it also meets the SLO on", copies, "."));
    }
    why.header.push_back(absl::StrCat(r.evaluations.size(), " configurations simulated."));
    if (!WriteFile(o.output_path, tune::HpaYaml(best.candidate, to.model, why), err)) return 2;
  }
  if (!o.json_path.empty()) {
    nlohmann::json j;
    j["slo"] = {{"latency_s", slo_s}, {"attainment", o.slo_attainment}};
    j["max_replicas"] = o.max_replicas;
    j["holdout"] = o.holdout;
    j["robust"] = nlohmann::json::array();
    for (const tune::Scenario& c : to.robust) j["robust"].push_back(c.name);
    j["traffic"] = full->traffic;
    j["pod"] = full->pod;
    j["met"] = r.met;
    j["recommended"] = best.name;
    j["wall_seconds"] = wall;
    nlohmann::json candidates = nlohmann::json::array();
    for (const tune::Evaluation& e : r.evaluations) {
      nlohmann::json c = ResultJson(e.result, o.slo_attainment);
      c["name"] = e.name;
      c["stage"] = e.stage;
      if (robust) {
        nlohmann::json copies = nlohmann::json::array();
        for (const sim::PolicyResult& x : e.robust) copies.push_back(x.slo_attainment);
        c["robust_attainment"] = std::move(copies);
        c["meets_slo"] = e.meets;  // on the original and every copy
      }
      if (e.is_fixed) {
        c["fixed_replicas"] = e.fixed_replicas;
      } else {
        c["metric"] = tune::MetricName(e.candidate.metric);
        c["target"] = tune::TargetQuantity(e.candidate);
        c["min_replicas"] = e.candidate.min_replicas;
        c["max_replicas"] = e.candidate.max_replicas;
        c["scale_up_window_s"] = e.candidate.up_window_s;
        c["scale_up_percent"] = e.candidate.up_percent;
        c["scale_down_window_s"] = e.candidate.down_window_s;
        c["scale_down_percent"] = e.candidate.down_percent;
      }
      candidates.push_back(std::move(c));
    }
    j["candidates"] = std::move(candidates);
    nlohmann::json refs = nlohmann::json::array();
    for (const Row& row : rows) {
      nlohmann::json x = {{"name", row.name}, {"in_sample", ResultJson(row.in, o.slo_attainment)}};
      if (row.held) x["held_out"] = ResultJson(*row.held, o.slo_attainment);
      refs.push_back(std::move(x));
    }
    j["rows"] = std::move(refs);
    if (!WriteFile(o.json_path, j.dump(2) + "\n", err)) return 2;
  }
  if (!o.report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.report_dir, ec);
    std::vector<tune::ReferencePoint> refs;
    for (size_t k = 1; k < rows.size(); ++k) {
      std::string label =
          rows[k].name.rfind("seed CPU HPA", 0) == 0 ? "seed CPU HPA" : rows[k].name;
      refs.push_back({label, rows[k].in.replica_seconds, rows[k].in.slo_attainment});
    }
    std::string title = absl::StrFormat(
        "tide tune: %zu configurations, SLO %s s for %s of requests", r.evaluations.size(),
        sim::FormatNumber(slo_s), sim::FormatNumber(o.slo_attainment));
    tune::TimelineSvgInput t;
    t.title = "tide tune: the recommendation's replicas against the trace's request rate";
    t.policy = rows[0].name;
    t.in_sample = rows[0].in.timeline;
    if (rows[0].held) t.held_out = rows[0].held->timeline;
    if (r.cheapest_fixed >= 0) t.fixed_replicas = r.evaluations[r.cheapest_fixed].fixed_replicas;
    if (!WriteFile(o.report_dir + "/pareto.svg", tune::ParetoSvg(r, refs, o.slo_attainment, title),
                   err) ||
        !WriteFile(o.report_dir + "/timeline.svg", tune::TimelineSvg(t), err)) {
      return 2;
    }
  }
  if (measure) {
    int code = MeasureAndWritePatch(o, best, PerReplicaPeakRate(rows[0].in.timeline), memory_limit,
                                    out, err);
    if (code != 0) return code;
  }
  return r.met ? 0 : 3;
}

}  // namespace tide::apps
