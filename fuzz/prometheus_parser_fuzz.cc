// libFuzzer target: the Prometheus text parser (metrics/prometheus_parser.h),
// which reads /metrics of servers tide does not control. Any input must give
// a result or an error, never a crash; a result must be consistent (family
// indices in range, every sample found again by its own name and labels) and
// must read back the same after writing it out again.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "metrics/prometheus_parser.h"

namespace {

using tide::metrics::Exposition;
using tide::metrics::MetricSample;

std::string Escape(const std::string& s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Every family's HELP and TYPE first, then every sample: text the parser
// must accept and read as the same families and samples.
std::string Write(const Exposition& e) {
  std::string out;
  for (const auto& f : e.families) {
    out += "# HELP " + f.name + " " + Escape(f.help, false) + "\n";
    out += "# TYPE " + f.name + " " + std::string(tide::metrics::MetricTypeName(f.type)) + "\n";
  }
  for (const MetricSample& s : e.samples) {
    out += s.name + "{";
    for (const auto& [k, v] : s.labels) out += k + "=\"" + Escape(v, true) + "\",";
    out += "} " + Number(s.value);
    if (s.timestamp_ms) out += " " + std::to_string(*s.timestamp_ms);
    out += "\n";
  }
  return out;
}

bool SameValue(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = tide::metrics::ParsePrometheusText(text);
  if (!e.ok()) {
    if (e.status().message().empty()) __builtin_trap();
    return 0;
  }
  for (const MetricSample& s : e->samples) {
    if (s.family >= e->families.size()) __builtin_trap();
    if (!e->Value(s.name, s.labels)) __builtin_trap();
    if (e->Select(s.name, s.labels).empty()) __builtin_trap();
  }
  (void)e->SumHistogram(e->samples.empty() ? "x" : e->samples.front().name);

  // A HELP text that ends in '\r' cannot be written again: the parser
  // reads "\r\n" as a line end (CRLF input) and the format has no escape
  // for '\r'.
  for (const auto& f : e->families) {
    if (!f.help.empty() && f.help.back() == '\r') return 0;
  }
  auto again = tide::metrics::ParsePrometheusText(Write(*e));
  if (!again.ok()) __builtin_trap();
  if (again->families.size() != e->families.size()) __builtin_trap();
  for (size_t i = 0; i < e->families.size(); ++i) {
    const auto &a = e->families[i], &b = again->families[i];
    if (a.name != b.name || a.type != b.type || a.help != b.help) __builtin_trap();
  }
  if (again->samples.size() != e->samples.size()) __builtin_trap();
  for (size_t i = 0; i < e->samples.size(); ++i) {
    const MetricSample &a = e->samples[i], &b = again->samples[i];
    if (a.name != b.name || a.labels != b.labels || !SameValue(a.value, b.value) ||
        a.timestamp_ms != b.timestamp_ms || a.family != b.family) {
      __builtin_trap();
    }
  }
  return 0;
}
