#include "loadgen/server_metrics.h"

#include <cmath>
#include <limits>

#include "loadgen/text.h"

namespace tide::loadgen {
namespace {

bool ParsePromValue(std::string_view s, double* out) {
  if (s == "+Inf" || s == "Inf") {
    *out = std::numeric_limits<double>::infinity();
  } else if (s == "-Inf") {
    *out = -std::numeric_limits<double>::infinity();
  } else if (s == "NaN") {
    *out = std::numeric_limits<double>::quiet_NaN();
  } else {
    return ParseDouble(s, out);
  }
  return true;
}

void AddHistogramSample(const PromSample& s, std::string_view base, PromHistogram* h) {
  if (s.name.size() <= base.size() || s.name.compare(0, base.size(), base) != 0) return;
  std::string_view suffix = std::string_view(s.name).substr(base.size());
  if (suffix == "_sum") {
    h->sum += s.value;
  } else if (suffix == "_count") {
    h->count += s.value;
  } else if (suffix == "_bucket") {
    auto le = s.labels.find("le");
    double bound;
    if (le != s.labels.end() && ParsePromValue(le->second, &bound)) h->buckets[bound] += s.value;
  }
}

PromHistogram DiffHistogram(const PromHistogram& a, const PromHistogram& b) {
  PromHistogram d;
  d.sum = b.sum - a.sum;
  d.count = b.count - a.count;
  for (const auto& [le, n] : b.buckets) {
    auto it = a.buckets.find(le);
    d.buckets[le] = n - (it == a.buckets.end() ? 0 : it->second);
  }
  return d;
}

double Mean(const PromHistogram& h) { return h.count > 0 ? h.sum / h.count : 0; }

}  // namespace

absl::StatusOr<std::vector<PromSample>> ParsePrometheusText(std::string_view text) {
  std::vector<PromSample> out;
  size_t line_no = 0;
  for (std::string_view line : Split(text, '\n')) {
    ++line_no;
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    PromSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t') ++i;
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          return absl::InvalidArgumentError(Cat("metrics line ", line_no, ": bad labels"));
        }
        std::string name(Trim(line.substr(i, eq - i)));
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) {
          return absl::InvalidArgumentError(Cat("metrics line ", line_no, ": unterminated label"));
        }
        s.labels[std::move(name)] = std::move(value);
        i = j + 1;
      }
    }
    std::string_view rest = Trim(line.substr(std::min(i, line.size())));
    std::string_view value = rest.substr(0, rest.find_first_of(" \t"));
    if (s.name.empty() || !ParsePromValue(value, &s.value)) {
      return absl::InvalidArgumentError(Cat("metrics line ", line_no, ": bad sample '", line, "'"));
    }
    out.push_back(std::move(s));
  }
  return out;
}

ServerCounters ExtractServerCounters(const std::vector<PromSample>& samples,
                                     std::string_view model) {
  ServerCounters c;
  for (const PromSample& s : samples) {
    if (s.name == "process_cpu_seconds_total") {
      c.process_cpu_seconds = c.process_cpu_seconds.value_or(0) + s.value;
      continue;
    }
    auto m = s.labels.find("model");
    if (m == s.labels.end() || m->second != model) continue;
    if (s.name == "tide_inference_requests_total") {
      auto outcome = s.labels.find("outcome");
      if (outcome == s.labels.end()) continue;
      if (outcome->second == "success") c.success += s.value;
      if (outcome->second == "failure") c.failure += s.value;
      if (outcome->second == "rejected") c.rejected += s.value;
    } else if (s.name == "tide_inference_count_total") {
      c.inference_count += s.value;
    } else if (s.name == "tide_inference_executions_total") {
      c.executions += s.value;
    } else {
      AddHistogramSample(s, "tide_inference_request_duration_seconds", &c.request_duration);
      AddHistogramSample(s, "tide_inference_queue_duration_seconds", &c.queue_duration);
      AddHistogramSample(s, "tide_inference_compute_duration_seconds", &c.compute_duration);
      AddHistogramSample(s, "tide_inference_batch_size", &c.batch_size);
    }
  }
  return c;
}

double HistogramQuantile(const std::map<double, double>& cumulative, double q) {
  if (cumulative.empty()) return 0;
  const double total = cumulative.rbegin()->second;
  if (!(total > 0)) return 0;
  const double rank = q * total;
  double prev_le = 0, prev_count = 0;
  for (const auto& [le, count] : cumulative) {
    if (count >= rank) {
      if (std::isinf(le)) return prev_le;  // Prometheus: the highest finite bound
      if (count == prev_count) return le;
      return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count);
    }
    prev_le = le;
    prev_count = count;
  }
  return prev_le;
}

ServerBreakdown DiffServerCounters(const ServerCounters& a, const ServerCounters& b) {
  ServerBreakdown d;
  d.success = b.success - a.success;
  d.failure = b.failure - a.failure;
  d.rejected = b.rejected - a.rejected;
  d.executions = b.executions - a.executions;
  const double items = b.inference_count - a.inference_count;
  PromHistogram batch = DiffHistogram(a.batch_size, b.batch_size);
  if (d.executions > 0) {
    d.mean_batch_size = items / d.executions;
  } else if (batch.count > 0) {
    d.mean_batch_size = Mean(batch);
  }
  PromHistogram req = DiffHistogram(a.request_duration, b.request_duration);
  PromHistogram queue = DiffHistogram(a.queue_duration, b.queue_duration);
  PromHistogram compute = DiffHistogram(a.compute_duration, b.compute_duration);
  d.mean_request_s = Mean(req);
  d.mean_queue_s = Mean(queue);
  d.mean_compute_s = Mean(compute);
  d.p99_request_s = HistogramQuantile(req.buckets, 0.99);
  d.p99_queue_s = HistogramQuantile(queue.buckets, 0.99);
  d.p99_compute_s = HistogramQuantile(compute.buckets, 0.99);
  if (a.process_cpu_seconds && b.process_cpu_seconds) {
    d.cpu_s = *b.process_cpu_seconds - *a.process_cpu_seconds;
  }
  return d;
}

}  // namespace tide::loadgen
