#include "sim/svg_plot.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tide::sim::svg {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

double NiceStep(double max, int n) {
  if (max <= 0) return 1;
  double raw = max / n;
  double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

std::string Px(double v) { return absl::StrFormat("%.1f", v); }

std::string TickLabel(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 1000) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%g", v);
}

double Frame::X(double v) const {
  double span = x_max > x_min ? x_max - x_min : 1;
  return x0 + width * (std::clamp(v, x_min, x_max) - x_min) / span;
}

double Frame::Y(double v) const {
  double span = y_max > y_min ? y_max - y_min : 1;
  return y0 + height - height * (std::clamp(v, y_min, y_max) - y_min) / span;
}

std::vector<std::pair<double, std::string>> LinearTicks(double max, int n) {
  std::vector<std::pair<double, std::string>> ticks;
  double step = NiceStep(max, n);
  for (int i = 0; i * step <= max * 1.0001; ++i) ticks.emplace_back(i * step, TickLabel(i * step));
  return ticks;
}

void DrawAxes(std::string* out, const Frame& f,
              const std::vector<std::pair<double, std::string>>& x_ticks,
              const std::vector<std::pair<double, std::string>>& y_ticks,
              const std::string& x_title, const std::string& y_title) {
  for (const auto& [v, label] : y_ticks) {
    double y = f.Y(v);
    absl::StrAppend(out, "<line x1=\"", Px(f.x0), "\" y1=\"", Px(y), "\" x2=\"", Px(f.x0 + f.width),
                    "\" y2=\"", Px(y), "\" stroke=\"#ddd\"/><text x=\"", Px(f.x0 - 6), "\" y=\"",
                    Px(y + 4), "\" text-anchor=\"end\">", Escape(label), "</text>\n");
  }
  const double bottom = f.y0 + f.height;
  for (const auto& [v, label] : x_ticks) {
    double x = f.X(v);
    absl::StrAppend(out, "<line x1=\"", Px(x), "\" y1=\"", Px(bottom), "\" x2=\"", Px(x),
                    "\" y2=\"", Px(bottom + 4), "\" stroke=\"#333\"/><text x=\"", Px(x), "\" y=\"",
                    Px(bottom + 18), "\" text-anchor=\"middle\">", Escape(label), "</text>\n");
  }
  absl::StrAppend(out, "<rect x=\"", Px(f.x0), "\" y=\"", Px(f.y0), "\" width=\"", Px(f.width),
                  "\" height=\"", Px(f.height), "\" fill=\"none\" stroke=\"#333\"/>\n");
  if (!x_title.empty()) {
    absl::StrAppend(out, "<text x=\"", Px(f.x0 + f.width / 2), "\" y=\"", Px(bottom + 38),
                    "\" text-anchor=\"middle\">", Escape(x_title), "</text>\n");
  }
  if (!y_title.empty()) {
    double x = f.x0 - 68, y = f.y0 + f.height / 2;
    absl::StrAppend(out, "<text x=\"", Px(x), "\" y=\"", Px(y), "\" text-anchor=\"middle\" ",
                    "transform=\"rotate(-90 ", Px(x), " ", Px(y), ")\">", Escape(y_title),
                    "</text>\n");
  }
}

}  // namespace tide::sim::svg
