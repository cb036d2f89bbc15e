#include "fleet/scrape_source.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fleet/health_probe.h"
#include "metrics/metric_names.h"
#include "nlohmann/json.hpp"

namespace tide::fleet {

namespace names = metrics::names;

namespace {

constexpr char kLatencyPrefix[] = "tide_inference_request_duration_seconds_p";

// The families a scrape keeps (everything else is dropped at once).
bool Kept(std::string_view family) {
  return family == names::kProcessCpuSecondsTotal || family == names::kProcessResidentMemoryBytes ||
         family == names::kProcessStartTimeSeconds || family == names::kInferenceQueueDepth ||
         family == names::kInferenceInFlight || family == names::kInferenceRequestDurationSeconds ||
         family == kGpuUtilizationRatio;
}

// The lines of an exposition that belong to the families Kept() names (their
// samples and their # TYPE / # HELP lines): the parser then reads a tenth of
// a replica's /metrics.
std::string KeptLines(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 2);
  // Kept lines come in runs (a family's lines are together): the family of
  // the previous line is checked first, then Kept() only when it changes.
  std::string_view last_family;
  bool last_kept = false;
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (eol == nullptr) eol = end;
    std::string_view line(p, static_cast<size_t>(eol - p));
    p = eol + 1;
    std::string_view name = line;
    if (!name.empty() && name[0] == '#') {
      if (name.size() <= 7 || (name.substr(0, 7) != "# TYPE " && name.substr(0, 7) != "# HELP ")) {
        continue;
      }
      name.remove_prefix(7);
    }
    size_t n = 0;
    while (n < name.size() && name[n] != ' ' && name[n] != '{' && name[n] != '\t') ++n;
    name = name.substr(0, n);
    // A histogram's series carry a suffix after the family's name.
    std::string_view family = name;
    if (!last_family.empty() && name.size() >= last_family.size() &&
        name.substr(0, last_family.size()) == last_family) {
      std::string_view rest = name.substr(last_family.size());
      if (rest.empty() || rest == "_bucket" || rest == "_sum" || rest == "_count") {
        family = last_family;
      }
    }
    if (family != last_family) {
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix &&
            Kept(name.substr(0, name.size() - suffix.size()))) {
          family = name.substr(0, name.size() - suffix.size());
          break;
        }
      }
      last_family = family;
      last_kept = Kept(family);
    }
    if (!last_kept) continue;
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

// dcgm-exporter's GPU utilization (percent): what an HPA written for
// dcgm-exporter names; tide up reads it as 100 × tide_gpu_utilization_ratio.
constexpr char kDcgmGpuUtil[] = "DCGM_FI_DEV_GPU_UTIL";

bool IsGpuUtilization(std::string_view name) {
  return name == kGpuUtilizationRatio || name == kDcgmGpuUtil;
}

bool IsPodsGauge(std::string_view name) {
  return name == names::kInferenceQueueDepth || name == names::kInferenceInFlight ||
         IsGpuUtilization(name);
}

// GPU utilization over the series of `e` that `sel` matches: their sum and
// count (the mean is what an HPA sees: the adapter rule's avg; the 0..1
// gauge in percent for dcgm-exporter's name).
struct GpuSum {
  double sum = 0;
  size_t count = 0;
};
GpuSum SumGpuUtilization(const metrics::Exposition& e, const metrics::LabelMap& sel) {
  GpuSum g;
  for (const metrics::MetricSample* s : e.Select(kGpuUtilizationRatio, sel)) {
    g.sum += s->value;
    ++g.count;
  }
  return g;
}
double GpuScale(std::string_view name) { return name == kDcgmGpuUtil ? 100.0 : 1.0; }

// matchLabels of a selector carried as JSON; InvalidArgument for what this
// source does not evaluate (matchExpressions).
absl::StatusOr<metrics::LabelMap> SelectorLabels(const std::string& selector_json) {
  metrics::LabelMap out;
  if (selector_json.empty()) return out;
  nlohmann::json j = nlohmann::json::parse(selector_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("selector is not an object: ", selector_json));
  }
  if (j.contains("matchExpressions") && !j["matchExpressions"].empty()) {
    return absl::InvalidArgumentError(
        "selector.matchExpressions is not supported by tide up "
        "(use matchLabels)");
  }
  if (auto it = j.find("matchLabels"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

int64_t ToMilli(double v) {
  double m = std::round(v * 1000.0);
  if (!(m < 9.2e18)) return std::numeric_limits<int64_t>::max();
  if (m < -9.2e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(m);
}

// Per-bucket increases between two cumulative histograms, divided by `seconds`
// (a counter reset, a smaller count, counts as the newer value, as rate()).
std::map<double, double> BucketRate(const metrics::HistogramSum& newer,
                                    const metrics::HistogramSum& older, double seconds) {
  std::map<double, double> out;
  for (const auto& [le, count] : newer.buckets) {
    auto it = older.buckets.find(le);
    double base = it == older.buckets.end() ? 0 : it->second;
    double inc = count >= base ? count - base : count;
    out[le] = inc / seconds;
  }
  return out;
}

}  // namespace

double HistogramQuantile(double q, const std::map<double, double>& cumulative) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (std::isnan(q)) return nan;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  if (cumulative.size() < 2 || !std::isinf(cumulative.rbegin()->first) ||
      cumulative.rbegin()->first < 0) {
    return nan;
  }
  std::vector<std::pair<double, double>> b(cumulative.begin(), cumulative.end());
  for (size_t i = 1; i < b.size(); ++i) b[i].second = std::max(b[i].second, b[i - 1].second);
  const double observations = b.back().second;
  if (!(observations > 0)) return nan;
  double rank = q * observations;
  // The first bucket (among all but +Inf) whose count reaches the rank.
  size_t i = 0;
  while (i < b.size() - 1 && b[i].second < rank) ++i;
  if (i == b.size() - 1) return b[b.size() - 2].first;
  if (i == 0 && b[0].first <= 0) return b[0].first;
  double start = 0;
  double end = b[i].first;
  double count = b[i].second;
  if (i > 0) {
    start = b[i - 1].first;
    count -= b[i - 1].second;
    rank -= b[i - 1].second;
  }
  return start + (end - start) * (rank / count);
}

std::optional<double> LatencyQuantileOf(std::string_view metric_name) {
  if (metric_name.substr(0, sizeof(kLatencyPrefix) - 1) != kLatencyPrefix) return std::nullopt;
  std::string_view digits = metric_name.substr(sizeof(kLatencyPrefix) - 1);
  if (digits.empty() || digits.size() > 4) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  if (n == 0) return std::nullopt;
  return n / std::pow(10.0, static_cast<double>(digits.size()));
}

absl::Status CheckProducible(const autoscaler::HpaSpec& spec) {
  std::vector<std::string> errors;
  auto check_selector = [&](const std::string& field, const std::string& selector) {
    auto labels = SelectorLabels(selector);
    if (!labels.ok())
      errors.push_back(absl::StrCat(field, ".selector: ", labels.status().message()));
  };
  for (size_t i = 0; i < spec.metrics.size(); ++i) {
    const autoscaler::MetricSpec& m = spec.metrics[i];
    const std::string field = absl::StrCat("spec.metrics[", i, "]");
    if (m.type == "Resource" && m.resource) {
      if (m.resource->name != "cpu" && m.resource->name != "memory") {
        errors.push_back(absl::StrCat(field, ".resource.name: \"", m.resource->name,
                                      "\": tide up measures only cpu and memory"));
      } else if (m.resource->name == "memory" && m.resource->target.type == "Utilization") {
        errors.push_back(absl::StrCat(field,
                                      ".resource.target.type: memory Utilization needs a memory "
                                      "request, which tide up does not set (use AverageValue)"));
      }
    } else if (m.type == "Pods" && m.pods) {
      if (!IsPodsGauge(m.pods->metric.name)) {
        errors.push_back(absl::StrCat(
            field, ".pods.metric.name: \"", m.pods->metric.name,
            "\": the fleet's replicas do not export it (tide up can give Pods metrics ",
            names::kInferenceQueueDepth, ", ", names::kInferenceInFlight, ", ",
            kGpuUtilizationRatio, ", ", kDcgmGpuUtil, ")"));
      }
      check_selector(field + ".pods.metric", m.pods->metric.selector_json);
    } else if ((m.type == "External" && m.external) || (m.type == "Object" && m.object)) {
      const auto& id = m.external ? m.external->metric : m.object->metric;
      const std::string where = m.external ? ".external.metric" : ".object.metric";
      if (!LatencyQuantileOf(id.name) && id.name != names::kInferenceQueueDepth &&
          id.name != names::kInferenceInFlight && !IsGpuUtilization(id.name)) {
        errors.push_back(
            absl::StrCat(field, where, ".name: \"", id.name,
                         "\": tide up cannot produce it (it gives External/Object metrics "
                         "tide_inference_request_duration_seconds_p99 (any _pNN), ",
                         names::kInferenceQueueDepth, ", ", names::kInferenceInFlight, ", ",
                         kGpuUtilizationRatio, " and ", kDcgmGpuUtil, ")"));
      }
      check_selector(field + where, id.selector_json);
    } else if (m.type == "ContainerResource") {
      errors.push_back(absl::StrCat(field,
                                    ".type: ContainerResource: tide up's replicas have one "
                                    "container; use Resource"));
    }
    // Other malformed entries are Validate()'s to report.
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("metrics the fleet cannot produce:\n* ", absl::StrJoin(errors, "\n* ")));
}

absl::StatusOr<std::unique_ptr<ScrapeMetricsSource>> ScrapeMetricsSource::Create(Options options) {
  if (!options.pods) return absl::InvalidArgumentError("ScrapeMetricsSource: pods is required");
  if (options.cpu_window <= absl::ZeroDuration() ||
      options.latency_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ScrapeMetricsSource: windows must be positive");
  }
  if (options.cpu_request.MilliValue() <= 0) {
    return absl::InvalidArgumentError("ScrapeMetricsSource: cpu_request must be positive");
  }
  if (!options.fetch) {
    absl::Duration timeout = options.fetch_timeout;
    options.fetch = [timeout](const FleetPod& pod) -> absl::StatusOr<std::string> {
      absl::StatusOr<HttpGetResult> r = HttpGet(pod.metrics_port, "/metrics", timeout);
      if (!r.ok()) return r.status();
      if (r->status != 200) {
        return absl::UnavailableError(absl::StrCat("GET /metrics: HTTP ", r->status));
      }
      return std::move(r->body);
    };
  }
  return std::unique_ptr<ScrapeMetricsSource>(new ScrapeMetricsSource(std::move(options)));
}

int ScrapeMetricsSource::Scrape(absl::Time now) {
  std::vector<FleetPod> pods = options_.pods();
  // Fetch outside the lock: a slow replica must not block Observe/View.
  std::vector<std::pair<const FleetPod*, absl::StatusOr<metrics::Exposition>>> got;
  for (const FleetPod& pod : pods) {
    if (pod.metrics_port == 0) continue;
    absl::StatusOr<std::string> text = options_.fetch(pod);
    if (!text.ok()) {
      got.emplace_back(&pod, text.status());
      continue;
    }
    absl::StatusOr<metrics::Exposition> e = metrics::ParsePrometheusText(KeptLines(*text));
    if (e.ok()) {
      metrics::Exposition kept;
      kept.families = e->families;
      for (auto& s : e->samples) {
        if (Kept(e->families[s.family].name)) kept.samples.push_back(std::move(s));
      }
      e = std::move(kept);
    }
    got.emplace_back(&pod, std::move(e));
  }
  const absl::Duration keep = std::max(options_.cpu_window, options_.latency_window) * 2;
  int ok = 0;
  absl::MutexLock lock(&mu_);
  // Forget pods that are gone.
  absl::flat_hash_map<std::string, PodHistory> kept;
  for (const FleetPod& pod : pods) {
    auto it = pods_.find(pod.info.name);
    PodHistory h = it == pods_.end() ? PodHistory{} : std::move(it->second);
    if (h.pod_start != pod.info.start_time) {
      h = PodHistory{};
      h.pod_start = pod.info.start_time;
    }
    kept[pod.info.name] = std::move(h);
  }
  pods_ = std::move(kept);
  for (auto& [pod, result] : got) {
    PodHistory& h = pods_[pod->info.name];
    if (!result.ok()) {
      h.last_error = std::string(result.status().message());
      continue;
    }
    ++ok;
    h.last_error.clear();
    std::optional<double> start = result->Value(names::kProcessStartTimeSeconds);
    if (start && h.process_start && *start != *h.process_start) h.points.clear();
    h.process_start = start;
    h.points.push_back(Point{now, std::move(*result)});
    while (h.points.size() > 2 && h.points.front().time < now - keep) h.points.pop_front();
  }
  return ok;
}

std::pair<const ScrapeMetricsSource::Point*, const ScrapeMetricsSource::Point*>
ScrapeMetricsSource::RatePair(const PodHistory& h, absl::Duration window) {
  if (h.points.size() < 2) return {nullptr, nullptr};
  const Point* newest = &h.points.back();
  const Point* base = &h.points.front();
  for (auto it = h.points.rbegin() + 1; it != h.points.rend(); ++it) {
    if (newest->time - it->time >= window) {
      base = &*it;
      break;
    }
  }
  if (base->time >= newest->time) return {nullptr, nullptr};
  return {newest, base};
}

absl::Status ScrapeMetricsSource::Observe(const autoscaler::HpaSpec& spec, absl::Time now,
                                          autoscaler::Snapshot* snapshot) {
  std::vector<FleetPod> pods = options_.pods();
  for (const FleetPod& pod : pods) {
    autoscaler::PodInfo info = pod.info;
    if (info.containers.empty()) {
      autoscaler::ContainerInfo c;
      c.name = "tide";
      c.requests.emplace_back("cpu", options_.cpu_request);
      info.containers.push_back(std::move(c));
    }
    snapshot->pods.push_back(std::move(info));
  }

  absl::MutexLock lock(&mu_);
  auto& md = snapshot->metrics;
  for (const autoscaler::MetricSpec& m : spec.metrics) {
    if (m.type == "Resource" && m.resource) {
      auto& samples = md.pod_metrics[m.resource->name];
      for (const FleetPod& pod : pods) {
        auto it = pods_.find(pod.info.name);
        if (it == pods_.end()) continue;
        const PodHistory& h = it->second;
        if (m.resource->name == "cpu") {
          auto [newest, base] = RatePair(h, options_.cpu_window);
          if (!newest) continue;
          auto a = newest->exposition.Value(names::kProcessCpuSecondsTotal);
          auto b = base->exposition.Value(names::kProcessCpuSecondsTotal);
          if (!a || !b) continue;
          double secs = absl::ToDoubleSeconds(newest->time - base->time);
          double inc = *a >= *b ? *a - *b : *a;
          samples[pod.info.name] =
              autoscaler::Sample{ToMilli(inc / secs), newest->time, newest->time - base->time};
        } else if (m.resource->name == "memory" && !h.points.empty()) {
          auto v = h.points.back().exposition.Value(names::kProcessResidentMemoryBytes);
          if (!v) continue;
          samples[pod.info.name] =
              autoscaler::Sample{ToMilli(*v), h.points.back().time, options_.cpu_window};
        }
      }
    } else if (m.type == "Pods" && m.pods) {
      auto sel = SelectorLabels(m.pods->metric.selector_json);
      if (!sel.ok()) return sel.status();
      auto& samples = md.pod_metrics[m.pods->metric.name];
      for (const FleetPod& pod : pods) {
        auto it = pods_.find(pod.info.name);
        if (it == pods_.end() || it->second.points.empty()) continue;
        const Point& p = it->second.points.back();
        if (IsGpuUtilization(m.pods->metric.name)) {
          // The mean over the pod's GPUs (none: no sample, as without a GPU).
          GpuSum g = SumGpuUtilization(p.exposition, *sel);
          if (g.count == 0) continue;
          samples[pod.info.name] = autoscaler::Sample{
              ToMilli(g.sum / static_cast<double>(g.count) * GpuScale(m.pods->metric.name)), p.time,
              absl::ZeroDuration()};
          continue;
        }
        if (p.exposition.Select(m.pods->metric.name, *sel).empty()) continue;  // not exported
        samples[pod.info.name] = autoscaler::Sample{
            ToMilli(p.exposition.Sum(m.pods->metric.name, *sel)), p.time, absl::ZeroDuration()};
      }
      if (samples.empty()) md.pod_metrics.erase(m.pods->metric.name);
    } else if ((m.type == "External" && m.external) || (m.type == "Object" && m.object)) {
      const auto& id = m.external ? m.external->metric : m.object->metric;
      auto sel = SelectorLabels(id.selector_json);
      if (!sel.ok()) return sel.status();
      std::optional<double> value;
      if (std::optional<double> q = LatencyQuantileOf(id.name)) {
        // sum by (le) (rate(..._bucket{sel}[w])) over the pods, then the quantile.
        std::map<double, double> sum;
        for (const FleetPod& pod : pods) {
          auto it = pods_.find(pod.info.name);
          if (it == pods_.end()) continue;
          auto [newest, base] = RatePair(it->second, options_.latency_window);
          if (!newest) continue;
          double secs = absl::ToDoubleSeconds(newest->time - base->time);
          auto rate = BucketRate(
              newest->exposition.SumHistogram(names::kInferenceRequestDurationSeconds, *sel),
              base->exposition.SumHistogram(names::kInferenceRequestDurationSeconds, *sel), secs);
          for (const auto& [le, r] : rate) sum[le] += r;
        }
        double v = HistogramQuantile(*q, sum);
        value = std::isnan(v) || !(v > 0) ? 0.0 : v;  // "> 0 or vector(0)"
      } else if (IsGpuUtilization(id.name)) {
        // avg(...) over every GPU of every pod; no GPU at all: no value.
        GpuSum all;
        for (const FleetPod& pod : pods) {
          auto it = pods_.find(pod.info.name);
          if (it == pods_.end() || it->second.points.empty()) continue;
          GpuSum g = SumGpuUtilization(it->second.points.back().exposition, *sel);
          all.sum += g.sum;
          all.count += g.count;
        }
        if (all.count == 0) continue;
        value = all.sum / static_cast<double>(all.count) * GpuScale(id.name);
      } else {
        double total = 0;
        for (const FleetPod& pod : pods) {
          auto it = pods_.find(pod.info.name);
          if (it == pods_.end() || it->second.points.empty()) continue;
          total += it->second.points.back().exposition.Sum(id.name, *sel);
        }
        if (id.name == names::kInferenceInFlight && options_.held_requests) {
          total += options_.held_requests();
        }
        value = total;
      }
      if (m.external) {
        md.external_metrics[id.name] = {ToMilli(*value)};
      } else {
        md.object_metrics[id.name] = ToMilli(*value);
      }
    }
  }
  (void)now;
  return absl::OkStatus();
}

std::vector<PodScrapeView> ScrapeMetricsSource::View() const {
  absl::MutexLock lock(&mu_);
  std::vector<PodScrapeView> out;
  for (const auto& [name, h] : pods_) {
    PodScrapeView v;
    v.name = name;
    v.last_error = h.last_error;
    if (!h.points.empty()) {
      const auto& e = h.points.back().exposition;
      if (e.FindFamily(names::kInferenceQueueDepth))
        v.queue_depth = e.Sum(names::kInferenceQueueDepth);
      if (e.FindFamily(names::kInferenceInFlight)) v.in_flight = e.Sum(names::kInferenceInFlight);
    }
    if (auto [newest, base] = RatePair(h, options_.cpu_window); newest) {
      auto a = newest->exposition.Value(names::kProcessCpuSecondsTotal);
      auto b = base->exposition.Value(names::kProcessCpuSecondsTotal);
      double secs = absl::ToDoubleSeconds(newest->time - base->time);
      if (a && b) v.cpu_cores = (*a >= *b ? *a - *b : *a) / secs;
    }
    if (auto [newest, base] = RatePair(h, options_.latency_window); newest) {
      double secs = absl::ToDoubleSeconds(newest->time - base->time);
      auto n = newest->exposition.SumHistogram(names::kInferenceRequestDurationSeconds);
      auto o = base->exposition.SumHistogram(names::kInferenceRequestDurationSeconds);
      auto rate = BucketRate(n, o, secs);
      v.request_rate = (n.count >= o.count ? n.count - o.count : n.count) / secs;
      double p50 = HistogramQuantile(0.5, rate), p99 = HistogramQuantile(0.99, rate);
      if (!std::isnan(p50)) v.p50_seconds = p50;
      if (!std::isnan(p99)) v.p99_seconds = p99;
    }
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(),
            [](const PodScrapeView& a, const PodScrapeView& b) { return a.name < b.name; });
  return out;
}

}  // namespace tide::fleet
