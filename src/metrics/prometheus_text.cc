// Registry::RenderText: the Prometheus text exposition format, version 0.0.4.
// Kept apart from the metric types: instrumentation is not exposition.

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "metrics/metrics.h"

namespace tide::metrics {
namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string EscapeHelp(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// Go-compatible float formatting: integers without a fraction, +Inf/-Inf/NaN.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  // Shortest round-trip form.
  for (int p = 1; p <= 17; ++p) {
    char s[32];
    std::snprintf(s, sizeof(s), "%.*g", p, v);
    if (std::strtod(s, nullptr) == v) return s;
  }
  return buf;
}

std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra_name = "", const std::string& extra_value = "") {
  if (names.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", names[i], "=\"", EscapeLabel(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, names.empty() ? "" : ",", extra_name, "=\"", extra_value, "\"");
  }
  return out + "}";
}

void Header(std::string* out, const std::string& name, const std::string& help, const char* type) {
  absl::StrAppend(out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

std::string Registry::RenderText() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const Entry& e : entries_) {
    if (e.collector) {
      for (const CollectedFamily& f : e.collector()) {
        if (f.series.empty()) continue;
        Header(&out, f.name, f.help, f.type == Type::kCounter ? "counter" : "gauge");
        for (const CollectedSeries& s : f.series) {
          std::vector<std::string> names, values;
          for (const auto& [n, v] : s.labels) {
            names.push_back(n);
            values.push_back(v);
          }
          absl::StrAppend(&out, f.name, Labels(names, values), " ", Number(s.value), "\n");
        }
      }
    } else if (e.callback) {
      const CallbackMetric& m = *e.callback;
      Header(&out, m.name, m.help, m.type == Type::kCounter ? "counter" : "gauge");
      absl::StrAppend(&out, m.name, " ", Number(m.value()), "\n");
    } else if (e.counter) {
      const auto& f = *e.counter;
      Header(&out, f.name(), f.help(), "counter");
      f.ForEach([&](const std::vector<std::string>& v, const Counter& c) {
        absl::StrAppend(&out, f.name(), Labels(f.labels(), v), " ", Number(c.Value()), "\n");
      });
    } else if (e.gauge) {
      const auto& f = *e.gauge;
      Header(&out, f.name(), f.help(), "gauge");
      f.ForEach([&](const std::vector<std::string>& v, const Gauge& g) {
        absl::StrAppend(&out, f.name(), Labels(f.labels(), v), " ", Number(g.Value()), "\n");
      });
    } else if (e.histogram) {
      const auto& f = *e.histogram;
      Header(&out, f.name(), f.help(), "histogram");
      f.ForEach([&](const std::vector<std::string>& v, const Histogram& h) {
        Histogram::Snapshot s = h.Read();
        for (size_t i = 0; i < s.bounds.size(); ++i) {
          absl::StrAppend(&out, f.name(), "_bucket",
                          Labels(f.labels(), v, "le", Number(s.bounds[i])), " ", s.cumulative[i],
                          "\n");
        }
        absl::StrAppend(&out, f.name(), "_bucket", Labels(f.labels(), v, "le", "+Inf"), " ",
                        s.count, "\n");
        absl::StrAppend(&out, f.name(), "_sum", Labels(f.labels(), v), " ", Number(s.sum), "\n");
        absl::StrAppend(&out, f.name(), "_count", Labels(f.labels(), v), " ", s.count, "\n");
      });
    }
  }
  return out;
}

}  // namespace tide::metrics
