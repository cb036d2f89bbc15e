#include "sim/svg_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/svg_plot.h"

namespace tide::sim {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
constexpr double kLeft = 80, kRight = 230, kWidth = 1100, kPanel = 200, kGap = 60, kTop = 50;

using svg::Escape;
using svg::NiceStep;
using svg::TickLabel;

std::string Num(double v) { return absl::StrFormat("%.1f", v); }

struct Panel {
  double y0;  // top
  double max;
  std::string label;
};

double X(double t, double span) { return kLeft + (kWidth - kLeft - kRight) * t / span; }
double Y(const Panel& p, double v) { return p.y0 + kPanel - kPanel * std::min(v, p.max) / p.max; }

void Axes(std::string* out, const Panel& p, double span, bool x_labels) {
  double step = NiceStep(p.max, 4);
  for (double v = 0; v <= p.max * 1.0001; v += step) {
    double y = Y(p, v);
    absl::StrAppend(out, "<line x1=\"", Num(kLeft), "\" y1=\"", Num(y), "\" x2=\"",
                    Num(kWidth - kRight), "\" y2=\"", Num(y), "\" stroke=\"#ddd\"/><text x=\"",
                    Num(kLeft - 6), "\" y=\"", Num(y + 4), "\" text-anchor=\"end\">", TickLabel(v),
                    "</text>\n");
  }
  double tstep = NiceStep(span, 8);
  for (double t = 0; t <= span * 1.0001; t += tstep) {
    double x = X(t, span);
    absl::StrAppend(out, "<line x1=\"", Num(x), "\" y1=\"", Num(p.y0 + kPanel), "\" x2=\"", Num(x),
                    "\" y2=\"", Num(p.y0 + kPanel + 4), "\" stroke=\"#333\"/>\n");
    if (x_labels) {
      absl::StrAppend(out, "<text x=\"", Num(x), "\" y=\"", Num(p.y0 + kPanel + 18),
                      "\" text-anchor=\"middle\">", TickLabel(t), "</text>\n");
    }
  }
  absl::StrAppend(out, "<rect x=\"", Num(kLeft), "\" y=\"", Num(p.y0), "\" width=\"",
                  Num(kWidth - kLeft - kRight), "\" height=\"", Num(kPanel),
                  "\" fill=\"none\" stroke=\"#333\"/>\n");
  absl::StrAppend(out, "<text x=\"", Num(kLeft), "\" y=\"", Num(p.y0 - 8),
                  "\" font-weight=\"bold\">", Escape(p.label), "</text>\n");
}

}  // namespace

std::string SvgReport(const std::vector<PolicyResult>& results, double slo_s,
                      const std::string& title) {
  size_t n = 0;
  for (const PolicyResult& r : results) n = std::max(n, r.timeline.size());
  size_t bin = std::max<size_t>(1, (n + 999) / 1000);
  size_t bins = (n + bin - 1) / bin;
  double span = std::max<double>(1, static_cast<double>(n));
  // Binned series.
  std::vector<double> rate(bins, 0);
  std::vector<std::vector<double>> replicas(results.size(), std::vector<double>(bins, 0));
  std::vector<std::vector<double>> p99(results.size(), std::vector<double>(bins, -1));
  double max_rate = 1, max_replicas = 1, max_p99 = slo_s * 1.5;
  for (size_t k = 0; k < results.size(); ++k) {
    const auto& tl = results[k].timeline;
    for (size_t b = 0; b < bins; ++b) {
      double sum_rate = 0, sum_rep = 0, cnt = 0;
      for (size_t i = b * bin; i < std::min(n, (b + 1) * bin) && i < tl.size(); ++i) {
        sum_rate += static_cast<double>(tl[i].arrivals);
        sum_rep += tl[i].ready;
        cnt += 1;
        p99[k][b] = std::max(p99[k][b], tl[i].p99_s);
      }
      if (cnt > 0) {
        if (k == 0) rate[b] = sum_rate / cnt;
        replicas[k][b] = sum_rep / cnt;
      }
      max_rate = std::max(max_rate, rate[b]);
      max_replicas = std::max(max_replicas, replicas[k][b]);
      max_p99 = std::max(max_p99, p99[k][b]);
    }
  }
  max_p99 = std::min(max_p99, slo_s * 4);  // beyond that the line is clipped at the top
  max_rate *= 1.1;
  max_replicas = std::ceil(max_replicas * 1.1);
  Panel pr{kTop + 20, max_rate, "request rate (requests/s)"};
  Panel pn{pr.y0 + kPanel + kGap, max_replicas, "ready replicas"};
  Panel pl{pn.y0 + kPanel + kGap, max_p99,
           absl::StrFormat("p99 latency per second (s), SLO %g s dashed", slo_s)};
  double height = pl.y0 + kPanel + 50;

  std::string out = absl::StrCat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", Num(kWidth), "\" height=\"",
      Num(height), "\" viewBox=\"0 0 ", Num(kWidth), " ", Num(height),
      "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<text x=\"",
      Num(kLeft), "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">", Escape(title), "</text>\n");
  for (const Panel* p : {&pr, &pn, &pl}) Axes(&out, *p, span, p == &pl);
  absl::StrAppend(&out, "<text x=\"", Num((kLeft + kWidth - kRight) / 2), "\" y=\"",
                  Num(pl.y0 + kPanel + 38), "\" text-anchor=\"middle\">time (s)</text>\n");
  auto polyline = [&](const Panel& p, const std::vector<double>& v, const char* color,
                      bool skip_negative) {
    std::string pts;
    auto flush = [&] {
      if (!pts.empty()) {
        absl::StrAppend(&out, "<polyline fill=\"none\" stroke=\"", color,
                        "\" stroke-width=\"1.5\" points=\"", pts, "\"/>\n");
      }
      pts.clear();
    };
    for (size_t b = 0; b < v.size(); ++b) {
      if (skip_negative && v[b] < 0) {
        flush();
        continue;
      }
      double t = (static_cast<double>(b) + 0.5) * static_cast<double>(bin);
      absl::StrAppend(&pts, pts.empty() ? "" : " ", Num(X(t, span)), ",", Num(Y(p, v[b])));
    }
    flush();
  };
  polyline(pr, rate, "#444", false);
  for (size_t k = 0; k < results.size(); ++k) {
    const char* color = kColors[k % 10];
    polyline(pn, replicas[k], color, false);
    polyline(pl, p99[k], color, true);
  }
  double ys = Y(pl, slo_s);
  absl::StrAppend(&out, "<line x1=\"", Num(kLeft), "\" y1=\"", Num(ys), "\" x2=\"",
                  Num(kWidth - kRight), "\" y2=\"", Num(ys),
                  "\" stroke=\"#000\" stroke-dasharray=\"6,4\"/>\n");
  // Legend.
  double lx = kWidth - kRight + 20, ly = pn.y0;
  absl::StrAppend(&out, "<text x=\"", Num(lx), "\" y=\"", Num(ly - 8),
                  "\" font-weight=\"bold\">policies</text>\n");
  for (size_t k = 0; k < results.size(); ++k) {
    double y = ly + 18 * static_cast<double>(k) + 8;
    absl::StrAppend(&out, "<line x1=\"", Num(lx), "\" y1=\"", Num(y), "\" x2=\"", Num(lx + 24),
                    "\" y2=\"", Num(y), "\" stroke=\"", kColors[k % 10],
                    "\" stroke-width=\"3\"/><text x=\"", Num(lx + 30), "\" y=\"", Num(y + 4), "\">",
                    Escape(results[k].name), "</text>\n");
  }
  absl::StrAppend(&out, "<line x1=\"", Num(lx), "\" y1=\"", Num(pl.y0 + 8), "\" x2=\"",
                  Num(lx + 24), "\" y2=\"", Num(pl.y0 + 8),
                  "\" stroke=\"#000\" stroke-dasharray=\"6,4\"/><text x=\"", Num(lx + 30),
                  "\" y=\"", Num(pl.y0 + 12), "\">SLO</text>\n");
  if (bin > 1) {
    absl::StrAppend(&out, "<text x=\"", Num(lx), "\" y=\"", Num(pr.y0 + 12), "\">", bin,
                    " s per point</text>\n");
  }
  out += "</svg>\n";
  return out;
}

}  // namespace tide::sim
