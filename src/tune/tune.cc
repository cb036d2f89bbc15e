#include "tune/tune.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "autoscaler/quantity.h"

namespace tide::tune {
namespace {

constexpr int32_t kPolicyPeriodS = 15;

std::string Num(double v) {
  // Shortest form that reads back the same at milli precision: 0.5, 2, 0.15.
  return absl::StrCat(static_cast<double>(std::llround(v * 1000)) / 1000);
}

}  // namespace

std::string MetricName(Metric m) {
  switch (m) {
    case Metric::kCpu:
      return "cpu";
    case Metric::kQueueDepth:
      return "queue-depth";
    case Metric::kP99:
      return "p99";
  }
  return "?";
}

absl::StatusOr<Metric> ParseMetric(std::string_view name) {
  if (name == "cpu") return Metric::kCpu;
  if (name == "queue-depth") return Metric::kQueueDepth;
  if (name == "p99") return Metric::kP99;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown metric '", std::string(name), "': cpu, queue-depth or p99"));
}

std::string Describe(const Candidate& c) {
  std::string target = c.metric == Metric::kCpu   ? absl::StrCat(Num(c.target), "%")
                       : c.metric == Metric::kP99 ? absl::StrCat(Num(c.target), "s")
                                                  : Num(c.target);
  return absl::StrCat(MetricName(c.metric), " ", target, ", min ", c.min_replicas, ", up ",
                      c.up_window_s, "s/", c.up_percent, "%, down ", c.down_window_s, "s/",
                      c.down_percent, "%");
}

std::string TargetQuantity(const Candidate& c) {
  if (c.metric == Metric::kCpu) return absl::StrCat(std::llround(c.target));
  return autoscaler::Quantity::FromMilli(std::llround(c.target * 1000)).ToString();
}

autoscaler::HpaSpec ToHpaSpec(const Candidate& c, const std::string& model,
                              const std::string& deployment) {
  autoscaler::HpaSpec spec;
  spec.name = "tide";
  spec.scale_target_ref =
      autoscaler::CrossVersionObjectReference{"Deployment", deployment, "apps/v1"};
  spec.min_replicas = c.min_replicas;
  spec.max_replicas = c.max_replicas;
  autoscaler::MetricSpec m;
  std::string selector = absl::StrCat("{\"matchLabels\":{\"model\":\"", model, "\"}}");
  switch (c.metric) {
    case Metric::kCpu: {
      m.type = "Resource";
      autoscaler::MetricSpec::ResourceSource r;
      r.name = "cpu";
      r.target.type = "Utilization";
      r.target.average_utilization = static_cast<int32_t>(std::llround(c.target));
      m.resource = r;
      break;
    }
    case Metric::kQueueDepth: {
      m.type = "Pods";
      autoscaler::MetricSpec::PodsSource p;
      p.metric.name = "tide_inference_queue_depth";
      p.metric.selector_json = selector;
      p.target.type = "AverageValue";
      p.target.average_value = autoscaler::Quantity::FromMilli(std::llround(c.target * 1000));
      m.pods = p;
      break;
    }
    case Metric::kP99: {
      m.type = "External";
      autoscaler::MetricSpec::ExternalSource e;
      e.metric.name = "tide_inference_request_duration_seconds_p99";
      e.metric.selector_json = selector;
      e.target.type = "Value";
      e.target.value = autoscaler::Quantity::FromMilli(std::llround(c.target * 1000));
      m.external = e;
      break;
    }
  }
  spec.metrics.push_back(std::move(m));
  autoscaler::Behavior b;
  autoscaler::ScalingRules up;
  up.stabilization_window_seconds = c.up_window_s;
  up.select_policy = "Max";
  up.policies = std::vector<autoscaler::ScalingPolicy>{{"Percent", c.up_percent, kPolicyPeriodS},
                                                       {"Pods", 4, kPolicyPeriodS}};
  autoscaler::ScalingRules down;
  down.stabilization_window_seconds = c.down_window_s;
  down.select_policy = "Max";
  down.policies =
      std::vector<autoscaler::ScalingPolicy>{{"Percent", c.down_percent, kPolicyPeriodS}};
  b.scale_up = up;
  b.scale_down = down;
  spec.behavior = b;
  return spec;
}

std::vector<double> RobustRateFactors(int k) {
  if (k <= 0) return {};
  if (k == 1) return {1.0};
  std::vector<double> f;
  // Rounded to 1e-6 so that K = 2 gives exactly 0.8 and 1.2.
  for (int i = 0; i < k; ++i) f.push_back(std::round((0.8 + 0.4 * i / (k - 1)) * 1e6) / 1e6);
  return f;
}

uint64_t RobustSeed(uint64_t seed, int k) { return seed + 1 + static_cast<uint64_t>(k); }

double WorstAttainment(const Evaluation& e) {
  double worst = e.result.slo_attainment;
  for (const sim::PolicyResult& r : e.robust) worst = std::min(worst, r.slo_attainment);
  return worst;
}

bool Better(const Evaluation& a, const Evaluation& b) {
  if (a.meets != b.meets) return a.meets;
  if (a.meets) {
    if (a.result.replica_seconds != b.result.replica_seconds)
      return a.result.replica_seconds < b.result.replica_seconds;
    return a.result.scale_ups + a.result.scale_downs < b.result.scale_ups + b.result.scale_downs;
  }
  double wa = WorstAttainment(a), wb = WorstAttainment(b);
  if (wa != wb) return wa > wb;
  return a.result.replica_seconds < b.result.replica_seconds;
}

absl::StatusOr<sim::PolicyResult> Run(const sim::SimOptions& options, const sim::PolicySpec& policy,
                                      const workload::ArrivalProcess& arrivals) {
  std::unique_ptr<workload::ArrivalProcess> copy = arrivals.Clone();
  return sim::Simulate(options, policy, copy.get());
}

std::vector<int> ParetoFront(const std::vector<Evaluation>& evaluations) {
  std::vector<int> hpas;
  for (size_t i = 0; i < evaluations.size(); ++i) {
    if (!evaluations[i].is_fixed && evaluations[i].stage != "reference")
      hpas.push_back(static_cast<int>(i));
  }
  std::sort(hpas.begin(), hpas.end(), [&](int a, int b) {
    const sim::PolicyResult& x = evaluations[a].result;
    const sim::PolicyResult& y = evaluations[b].result;
    if (x.replica_seconds != y.replica_seconds) return x.replica_seconds < y.replica_seconds;
    if (x.slo_attainment != y.slo_attainment) return x.slo_attainment > y.slo_attainment;
    return a < b;
  });
  std::vector<int> front;
  double best_attainment = -1;
  for (int i : hpas) {
    if (evaluations[i].result.slo_attainment > best_attainment) {
      front.push_back(i);
      best_attainment = evaluations[i].result.slo_attainment;
    }
  }
  return front;
}

namespace {

class Search {
 public:
  Search(const TuneOptions& o, const workload::ArrivalProcess& arrivals,
         const TuneProgress& progress)
      : o_(o), arrivals_(arrivals), progress_(progress) {
    sim_ = o.sim;
    sim_.timeline = false;
    for (const Scenario& c : o.robust) {
      robust_sim_.push_back(c.sim);
      robust_sim_.back().timeline = false;
    }
  }

  // Evaluates the candidates not seen before (in parallel), in order.
  absl::Status EvaluateAll(const std::vector<Candidate>& candidates, const std::string& stage) {
    std::vector<Candidate> todo;
    for (const Candidate& c : candidates) {
      std::string key = Describe(c);
      if (index_.count(key) != 0) continue;
      index_[key] = -1;
      todo.push_back(c);
    }
    std::vector<sim::PolicySpec> policies;
    for (const Candidate& c : todo) {
      sim::PolicySpec p;
      p.kind = sim::PolicySpec::Kind::kHpa;
      p.name = Describe(c);
      p.hpa = ToHpaSpec(c, o_.model);
      policies.push_back(std::move(p));
    }
    std::vector<Evaluation> done;
    if (absl::Status s = RunAll(policies, &done); !s.ok()) return s;
    for (size_t i = 0; i < todo.size(); ++i) {
      Evaluation e = std::move(done[i]);
      e.stage = stage;
      e.candidate = todo[i];
      index_[e.name] = static_cast<int>(out_.evaluations.size());
      out_.evaluations.push_back(std::move(e));
      int idx = static_cast<int>(out_.evaluations.size()) - 1;
      if (out_.best < 0 || Better(out_.evaluations[idx], out_.evaluations[out_.best]))
        out_.best = idx;
      if (progress_) progress_(out_.evaluations.size(), &out_.evaluations[out_.best]);
    }
    return absl::OkStatus();
  }

  const Evaluation& Get(const Candidate& c) const {
    return out_.evaluations[index_.at(Describe(c))];
  }

  absl::StatusOr<int> Fixed(int32_t n) {
    auto it = fixed_.find(n);
    if (it != fixed_.end()) return it->second;
    sim::PolicySpec p;
    p.kind = sim::PolicySpec::Kind::kFixed;
    p.name = absl::StrCat("fixed-", n);
    p.fixed_replicas = n;
    std::vector<Evaluation> done;
    if (absl::Status s = RunAll({p}, &done); !s.ok()) return s;
    Evaluation e = std::move(done[0]);
    e.stage = "fixed";
    e.is_fixed = true;
    e.fixed_replicas = n;
    out_.evaluations.push_back(std::move(e));
    int idx = static_cast<int>(out_.evaluations.size()) - 1;
    fixed_[n] = idx;
    if (progress_) {
      progress_(out_.evaluations.size(), out_.best >= 0 ? &out_.evaluations[out_.best] : nullptr);
    }
    return idx;
  }

  absl::StatusOr<TuneResult> Go() {
    // 1. The cheapest fixed fleet: bisection (attainment grows with replicas).
    int32_t lo = 1, hi = o_.max_replicas;
    auto top = Fixed(hi);
    if (!top.ok()) return top.status();
    if (out_.evaluations[*top].meets) {
      while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        auto i = Fixed(mid);
        if (!i.ok()) return i.status();
        if (out_.evaluations[*i].meets) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      out_.cheapest_fixed = fixed_[hi];
    }
    int32_t n = out_.cheapest_fixed >= 0 ? out_.evaluations[out_.cheapest_fixed].fixed_replicas
                                         : o_.max_replicas;
    for (int32_t m : {1, (n + 3) / 4, (n + 1) / 2, n}) {
      m = std::clamp(m, 1, o_.max_replicas);
      if (std::find(mins_.begin(), mins_.end(), m) == mins_.end()) mins_.push_back(m);
    }
    std::sort(mins_.begin(), mins_.end());

    // 2. The coarse grid: metric x target x minReplicas, the seed's behavior.
    std::vector<Candidate> grid;
    for (Metric metric : o_.metrics) {
      for (double t : Targets(metric)) {
        for (int32_t m : mins_) {
          Candidate c;
          c.metric = metric;
          c.target = t;
          c.min_replicas = m;
          c.max_replicas = o_.max_replicas;
          grid.push_back(c);
        }
      }
    }
    if (absl::Status s = EvaluateAll(grid, "grid"); !s.ok()) return s;

    // 3. Coordinate search from the best `keep` of the grid (the best of each
    // metric first, so every metric is refined, then the next best overall).
    std::vector<Candidate> ranked = grid;
    std::stable_sort(ranked.begin(), ranked.end(), [&](const Candidate& a, const Candidate& b) {
      return Better(Get(a), Get(b));
    });
    std::vector<Candidate> starts;
    for (const Candidate& c : ranked) {
      if (static_cast<int>(starts.size()) >= o_.keep) break;
      bool metric_seen = false;
      for (const Candidate& s : starts) metric_seen |= s.metric == c.metric;
      if (!metric_seen) starts.push_back(c);
    }
    for (const Candidate& c : ranked) {
      if (static_cast<int>(starts.size()) >= o_.keep) break;
      bool seen = false;
      for (const Candidate& s : starts) seen |= Describe(s) == Describe(c);
      if (!seen) starts.push_back(c);
    }
    for (Candidate current : starts) {
      for (int pass = 0; pass < o_.max_passes; ++pass) {
        bool improved = false;
        for (int dim = 0; dim < 6; ++dim) {
          std::vector<Candidate> line = Line(current, dim);
          if (absl::Status s = EvaluateAll(line, "refine"); !s.ok()) return s;
          for (const Candidate& c : line) {
            if (Better(Get(c), Get(current))) {
              current = c;
              improved = true;
            }
          }
        }
        if (!improved) break;
      }
    }
    out_.met = out_.best >= 0 && out_.evaluations[out_.best].meets;
    return std::move(out_);
  }

 private:
  // Runs each policy on the original arrivals and on every robust copy
  // (`jobs` simulations at once), in order; `out` gets one Evaluation per
  // policy with name, result, robust and meets set.
  absl::Status RunAll(const std::vector<sim::PolicySpec>& policies, std::vector<Evaluation>* out) {
    const size_t per = 1 + o_.robust.size();
    const size_t n = policies.size() * per;
    std::vector<absl::StatusOr<sim::PolicyResult>> results(n, absl::UnknownError("not run"));
    std::vector<std::unique_ptr<workload::ArrivalProcess>> copies;
    for (size_t j = 0; j < n; ++j) {
      size_t s = j % per;
      copies.push_back(s == 0 ? arrivals_.Clone() : o_.robust[s - 1].arrivals->Clone());
    }
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t j = next++; j < n; j = next++) {
        size_t s = j % per;
        results[j] =
            sim::Simulate(s == 0 ? sim_ : robust_sim_[s - 1], policies[j / per], copies[j].get());
      }
    };
    size_t threads = std::min<size_t>(std::max(1, o_.jobs), n);
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    if (n > 0) work();
    for (std::thread& t : pool) t.join();
    out->clear();
    for (size_t i = 0; i < policies.size(); ++i) {
      Evaluation e;
      e.name = policies[i].name;
      for (size_t s = 0; s < per; ++s) {
        absl::StatusOr<sim::PolicyResult>& r = results[i * per + s];
        if (!r.ok()) {
          return absl::Status(
              r.status().code(),
              absl::StrCat(policies[i].name, s == 0 ? "" : " on " + o_.robust[s - 1].name, ": ",
                           r.status().message()));
        }
        if (s == 0) {
          e.result = std::move(*r);
        } else {
          e.robust.push_back(std::move(*r));
        }
      }
      e.meets = WorstAttainment(e) >= o_.slo_attainment;
      out->push_back(std::move(e));
    }
    return absl::OkStatus();
  }

  std::vector<double> Targets(Metric m) const {
    if (m == Metric::kCpu) return o_.cpu_targets;
    if (m == Metric::kQueueDepth) return o_.queue_targets;
    std::vector<double> t;
    double slo = static_cast<double>(o_.sim.slo_latency) / 1e9;
    for (double f : o_.p99_fractions) t.push_back(std::llround(f * slo * 1000) / 1000.0);
    return t;
  }

  // The candidates along one dimension through `c`.
  std::vector<Candidate> Line(const Candidate& c, int dim) const {
    std::vector<Candidate> out;
    auto add = [&](auto setter, const auto& values) {
      for (const auto& v : values) {
        Candidate x = c;
        setter(x, v);
        out.push_back(x);
      }
    };
    switch (dim) {
      case 0:
        add([](Candidate& x, double v) { x.target = v; }, Targets(c.metric));
        break;
      case 1: {
        std::vector<int32_t> mins = mins_;
        for (int32_t m : {c.min_replicas - 1, c.min_replicas + 1}) {
          if (m >= 1 && m <= o_.max_replicas) mins.push_back(m);
        }
        add([](Candidate& x, int32_t v) { x.min_replicas = v; }, mins);
        break;
      }
      case 2:
        add([](Candidate& x, int32_t v) { x.down_window_s = v; }, o_.down_windows);
        break;
      case 3:
        add([](Candidate& x, int32_t v) { x.down_percent = v; }, o_.down_percents);
        break;
      case 4:
        add([](Candidate& x, int32_t v) { x.up_window_s = v; }, o_.up_windows);
        break;
      default:
        add([](Candidate& x, int32_t v) { x.up_percent = v; }, o_.up_percents);
        break;
    }
    return out;
  }

  const TuneOptions& o_;
  const workload::ArrivalProcess& arrivals_;
  const TuneProgress& progress_;
  sim::SimOptions sim_;
  std::vector<sim::SimOptions> robust_sim_;
  TuneResult out_;
  std::map<std::string, int> index_;
  std::map<int32_t, int> fixed_;
  std::vector<int32_t> mins_;
};

}  // namespace

absl::StatusOr<TuneResult> Tune(const TuneOptions& options,
                                const workload::ArrivalProcess& arrivals,
                                const TuneProgress& progress) {
  if (!(options.slo_attainment > 0 && options.slo_attainment <= 1)) {
    return absl::InvalidArgumentError("--slo-attainment must be in (0, 1]");
  }
  if (options.max_replicas < 1) return absl::InvalidArgumentError("--max-replicas must be >= 1");
  if (options.metrics.empty()) return absl::InvalidArgumentError("--metrics: give at least one");
  if (options.keep < 1) return absl::InvalidArgumentError("--keep must be >= 1");
  for (const Scenario& c : options.robust) {
    if (c.arrivals == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("--robust copy ", c.name, ": no arrivals"));
    }
  }
  auto positive = [](const auto& values) {
    if (values.empty()) return false;
    for (auto v : values) {
      if (!(v > 0)) return false;
    }
    return true;
  };
  auto non_negative = [](const std::vector<int32_t>& values) {
    if (values.empty()) return false;
    for (int32_t v : values) {
      if (v < 0 || v > 3600) return false;
    }
    return true;
  };
  if (!positive(options.cpu_targets) || !positive(options.queue_targets) ||
      !positive(options.p99_fractions)) {
    return absl::InvalidArgumentError("targets must be > 0 (and at least one of each)");
  }
  for (double t : options.cpu_targets) {
    if (t != std::floor(t)) {
      return absl::InvalidArgumentError("--cpu-targets: utilization is a whole percentage");
    }
  }
  if (!non_negative(options.up_windows) || !non_negative(options.down_windows)) {
    return absl::InvalidArgumentError("stabilization windows must be in [0, 3600] s");
  }
  if (!positive(options.up_percents) || !positive(options.down_percents)) {
    return absl::InvalidArgumentError("policy percentages must be > 0");
  }
  Search search(options, arrivals, progress);
  return search.Go();
}

}  // namespace tide::tune
