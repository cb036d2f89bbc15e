#include "tune/tune_svg.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/svg_plot.h"

namespace tide::tune {
namespace {

using sim::svg::DrawAxes;
using sim::svg::Escape;
using sim::svg::Frame;
using sim::svg::kPalette;
using sim::svg::Px;

constexpr const char* kBlue = kPalette[0];
constexpr const char* kOrange = kPalette[1];
constexpr const char* kGreen = kPalette[2];
constexpr const char* kVermillion = kPalette[3];
constexpr const char* kPurple = kPalette[4];
constexpr const char* kSky = kPalette[5];

std::string Header(double width, double height, const std::string& title) {
  return absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", Px(width),
                      "\" height=\"", Px(height), "\" viewBox=\"0 0 ", Px(width), " ", Px(height),
                      "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" "
                      "height=\"100%\" fill=\"white\"/>\n<text x=\"20\" y=\"28\" font-size=\"16\" "
                      "font-weight=\"bold\">",
                      Escape(title), "</text>\n");
}

// A marker centred on (x, y): "circle", "square", "triangle", "diamond".
std::string Marker(const std::string& shape, double x, double y, double r, const char* fill,
                   const char* stroke, const std::string& cls) {
  std::string c = cls.empty() ? "" : absl::StrCat(" class=\"", cls, "\"");
  std::string paint = absl::StrCat(" fill=\"", fill, "\" stroke=\"", stroke, "\"");
  if (shape == "circle") {
    return absl::StrCat("<circle", c, " cx=\"", Px(x), "\" cy=\"", Px(y), "\" r=\"", Px(r), "\"",
                        paint, "/>\n");
  }
  if (shape == "square") {
    return absl::StrCat("<rect", c, " x=\"", Px(x - r), "\" y=\"", Px(y - r), "\" width=\"",
                        Px(2 * r), "\" height=\"", Px(2 * r), "\"", paint, "/>\n");
  }
  std::string pts =
      shape == "triangle"
          ? absl::StrCat(Px(x), ",", Px(y - r * 1.2), " ", Px(x + r * 1.1), ",", Px(y + r * 0.8),
                         " ", Px(x - r * 1.1), ",", Px(y + r * 0.8))
          : absl::StrCat(Px(x), ",", Px(y - r * 1.3), " ", Px(x + r * 1.3), ",", Px(y), " ", Px(x),
                         ",", Px(y + r * 1.3), " ", Px(x - r * 1.3), ",", Px(y));
  return absl::StrCat("<polygon", c, " points=\"", pts, "\"", paint, "/>\n");
}

std::string AttainmentText(double a) { return absl::StrFormat("%.4f", a); }

}  // namespace

std::string ParetoSvg(const TuneResult& result, const std::vector<ReferencePoint>& references,
                      double slo_attainment, const std::string& title) {
  // The y scale: -log10(share missed), 0 (attainment 0) at the bottom, up to
  // `decades` (0.99 = 2, 0.999 = 3); attainment 1 on the top line, half a
  // decade above the last.
  double min_miss = 1;
  auto see = [&](double a) {
    if (1 - a > 0) min_miss = std::min(min_miss, 1 - a);
  };
  double max_rs = 1;
  for (const Evaluation& e : result.evaluations) {
    see(e.result.slo_attainment);
    max_rs = std::max(max_rs, e.result.replica_seconds);
  }
  for (const ReferencePoint& p : references) {
    see(p.attainment);
    max_rs = std::max(max_rs, p.replica_seconds);
  }
  see(slo_attainment);
  const int decades = std::clamp(static_cast<int>(std::ceil(-std::log10(min_miss) - 1e-9)), 2, 6);
  const double top = decades + 0.5;
  auto YV = [&](double a) { return 1 - a <= 0 ? top : std::min(top, -std::log10(1 - a)); };

  const double W = 1000, H = 560;
  Frame f;
  f.x0 = 100;
  f.y0 = 60;
  f.width = 560;
  f.height = 420;
  f.x_max = sim::svg::NiceStep(max_rs * 1.05, 6) *
            std::ceil(max_rs * 1.05 / sim::svg::NiceStep(max_rs * 1.05, 6));
  f.y_max = top;
  std::vector<std::pair<double, std::string>> y_ticks;
  for (int k = 0; k <= decades; ++k) {
    y_ticks.emplace_back(k, k == 0 ? "0" : absl::StrFormat("%.*f", k, 1 - std::pow(10, -k)));
  }
  y_ticks.emplace_back(top, "1");
  std::string out = Header(W, H, title);
  DrawAxes(&out, f, sim::svg::LinearTicks(f.x_max, 6), y_ticks,
           "cost: replica-seconds, in-sample part (pod-seconds paid for)",
           "SLO attainment, in-sample (log scale of the share missed)");

  // The SLO line.
  double ys = f.Y(YV(slo_attainment));
  absl::StrAppend(&out, "<line class=\"slo\" x1=\"", Px(f.x0), "\" y1=\"", Px(ys), "\" x2=\"",
                  Px(f.x0 + f.width), "\" y2=\"", Px(ys),
                  "\" stroke=\"#000\" stroke-dasharray=\"6,4\"/>\n");
  // Every configuration: HPA candidates (circles), fixed fleets tried (squares).
  int hpas = 0, fixed = 0;
  for (const Evaluation& e : result.evaluations) {
    double x = f.X(e.result.replica_seconds), y = f.Y(YV(e.result.slo_attainment));
    if (e.is_fixed) {
      ++fixed;
      absl::StrAppend(&out, Marker("square", x, y, 3, "#bbb", "#888", "fixed"));
    } else {
      ++hpas;
      absl::StrAppend(&out, Marker("circle", x, y, 3, kSky, "none", "candidate"));
    }
  }
  // The Pareto front of the HPA candidates.
  std::vector<int> front = ParetoFront(result.evaluations);
  std::string pts;
  for (int i : front) {
    const Evaluation& e = result.evaluations[i];
    absl::StrAppend(&pts, pts.empty() ? "" : " ", Px(f.X(e.result.replica_seconds)), ",",
                    Px(f.Y(YV(e.result.slo_attainment))));
  }
  if (!pts.empty()) {
    absl::StrAppend(&out, "<polyline class=\"front\" fill=\"none\" stroke=\"", kOrange,
                    "\" stroke-width=\"2\" points=\"", pts, "\"/>\n");
  }
  for (int i : front) {
    const Evaluation& e = result.evaluations[i];
    absl::StrAppend(
        &out, Marker("circle", f.X(e.result.replica_seconds), f.Y(YV(e.result.slo_attainment)), 4,
                     kOrange, "#000", "front-point"));
  }
  // The reference rows.
  const char* ref_colors[] = {kVermillion, kPurple, kGreen, kBlue};
  const char* ref_shapes[] = {"square", "triangle", "diamond", "square"};
  for (size_t k = 0; k < references.size(); ++k) {
    const ReferencePoint& p = references[k];
    absl::StrAppend(&out, Marker(ref_shapes[k % 4], f.X(p.replica_seconds), f.Y(YV(p.attainment)),
                                 6, ref_colors[k % 4], "#000", "reference"));
  }
  // The recommendation: a ring and its label.
  std::string rec_label;
  if (result.best >= 0) {
    const Evaluation& e = result.evaluations[result.best];
    double x = f.X(e.result.replica_seconds), y = f.Y(YV(e.result.slo_attainment));
    rec_label = absl::StrFormat("%s: %.0f replica-s, %s", result.met ? "recommended" : "best found",
                                e.result.replica_seconds, AttainmentText(e.result.slo_attainment));
    absl::StrAppend(&out, "<circle class=\"recommended\" cx=\"", Px(x), "\" cy=\"", Px(y),
                    "\" r=\"9\" fill=\"none\" stroke=\"#000\" stroke-width=\"2.5\"/>\n");
    // Label above the ring, kept inside the plot; leftwards when near the right edge.
    bool left = x > f.x0 + f.width * 0.55;
    double ty = std::max(f.y0 + 14, y - 16);
    absl::StrAppend(&out, "<text class=\"recommended-label\" x=\"", Px(left ? x - 12 : x + 12),
                    "\" y=\"", Px(ty), "\" text-anchor=\"", left ? "end" : "start",
                    "\" font-weight=\"bold\" stroke=\"white\" stroke-width=\"4\" "
                    "paint-order=\"stroke\">",
                    Escape(rec_label), "</text>\n");
  }
  // The legend.
  double lx = f.x0 + f.width + 30, ly = f.y0 + 6;
  auto entry = [&](const std::string& marker, const std::string& text, const std::string& sub) {
    absl::StrAppend(&out, marker, "<text x=\"", Px(lx + 20), "\" y=\"", Px(ly + 4), "\">",
                    Escape(text), "</text>\n");
    if (!sub.empty()) {
      absl::StrAppend(&out, "<text x=\"", Px(lx + 20), "\" y=\"", Px(ly + 19),
                      "\" font-size=\"11\" fill=\"#444\">", Escape(sub), "</text>\n");
      ly += 15;
    }
    ly += 24;
  };
  entry(Marker("circle", lx + 6, ly, 3, kSky, "none", ""),
        absl::StrCat("HPA candidates (", hpas, ")"), "");
  entry(absl::StrCat("<line x1=\"", Px(lx - 4), "\" y1=\"", Px(ly), "\" x2=\"", Px(lx + 16),
                     "\" y2=\"", Px(ly), "\" stroke=\"", kOrange, "\" stroke-width=\"2\"/>",
                     Marker("circle", lx + 6, ly, 4, kOrange, "#000", "")),
        absl::StrCat("Pareto front (", front.size(), ")"), "");
  entry(Marker("square", lx + 6, ly, 3, "#bbb", "#888", ""),
        absl::StrCat("fixed fleets tried (", fixed, ")"), "");
  for (size_t k = 0; k < references.size(); ++k) {
    const ReferencePoint& p = references[k];
    entry(Marker(ref_shapes[k % 4], lx + 6, ly, 6, ref_colors[k % 4], "#000", ""), p.label,
          absl::StrFormat("%.0f replica-s, %s", p.replica_seconds, AttainmentText(p.attainment)));
  }
  if (result.best >= 0) {
    entry(absl::StrCat("<circle cx=\"", Px(lx + 6), "\" cy=\"", Px(ly),
                       "\" r=\"7\" fill=\"none\" "
                       "stroke=\"#000\" stroke-width=\"2.5\"/>"),
          result.met ? "recommended" : "best found (misses the SLO)",
          result.evaluations[result.best].name);
  }
  entry(absl::StrCat("<line x1=\"", Px(lx - 4), "\" y1=\"", Px(ly), "\" x2=\"", Px(lx + 16),
                     "\" y2=\"", Px(ly), "\" stroke=\"#000\" stroke-dasharray=\"6,4\"/>"),
        absl::StrCat("SLO: attainment ", sim::svg::TickLabel(slo_attainment)), "");
  out += "</svg>\n";
  return out;
}

std::string TimelineSvg(const TimelineSvgInput& in) {
  std::vector<const sim::TimelineRow*> rows;
  for (const sim::TimelineRow& r : in.in_sample) rows.push_back(&r);
  for (const sim::TimelineRow& r : in.held_out) rows.push_back(&r);
  const size_t n = rows.size();
  const size_t bin = std::max<size_t>(1, (n + 799) / 800);
  const size_t bins = (n + bin - 1) / bin;
  std::vector<double> rate(bins, 0), pods(bins, 0), ready(bins, 0);
  double max_rate = 1, max_rep = std::max(1, in.fixed_replicas);
  for (size_t b = 0; b < bins; ++b) {
    double cnt = 0;
    for (size_t i = b * bin; i < std::min(n, (b + 1) * bin); ++i) {
      rate[b] += static_cast<double>(rows[i]->arrivals);
      pods[b] += rows[i]->replicas;
      ready[b] += rows[i]->ready;
      cnt += 1;
    }
    rate[b] /= cnt;
    pods[b] /= cnt;
    ready[b] /= cnt;
    max_rate = std::max(max_rate, rate[b]);
    max_rep = std::max(max_rep, pods[b]);
  }
  const double span = std::max<double>(1, static_cast<double>(n));
  const double split = static_cast<double>(in.in_sample.size());
  const double W = 1000, panel = 200, gap = 70;
  Frame fr;
  fr.x0 = 100;
  fr.y0 = 60;
  fr.width = 640;
  fr.height = panel;
  fr.x_max = span;
  fr.y_max = sim::svg::NiceStep(max_rate * 1.1, 4) *
             std::ceil(max_rate * 1.1 / sim::svg::NiceStep(max_rate * 1.1, 4));
  Frame fn = fr;
  fn.y0 = fr.y0 + panel + gap;
  double rep_step = std::max(1.0, std::ceil(sim::svg::NiceStep(max_rep + 1, 4)));
  fn.y_max = rep_step * std::ceil((max_rep + 1) / rep_step);
  const double H = fn.y0 + panel + 60;
  std::string out = Header(W, H, in.title);
  auto x_ticks = sim::svg::LinearTicks(span, 8);
  // The held-out part, shaded in both panels (drawn first, under the lines).
  if (!in.held_out.empty()) {
    for (const Frame* f : {&fr, &fn}) {
      absl::StrAppend(&out, "<rect class=\"held-out\" x=\"", Px(f->X(split)), "\" y=\"", Px(f->y0),
                      "\" width=\"", Px(f->X(span) - f->X(split)), "\" height=\"", Px(f->height),
                      "\" fill=\"#e8e8e8\"/>\n");
    }
    absl::StrAppend(&out, "<text x=\"", Px((fr.X(split) + fr.X(span)) / 2), "\" y=\"",
                    Px(fr.y0 + 16), "\" text-anchor=\"middle\" fill=\"#444\">held out</text>\n");
  }
  DrawAxes(&out, fr, x_ticks, sim::svg::LinearTicks(fr.y_max, 4), "", "request rate (requests/s)");
  std::vector<std::pair<double, std::string>> rep_ticks;
  for (double v = 0; v <= fn.y_max + 1e-9; v += rep_step) {
    rep_ticks.emplace_back(v, sim::svg::TickLabel(v));
  }
  DrawAxes(&out, fn, x_ticks, rep_ticks, "time (s)", "replicas");
  auto line = [&](const Frame& f, const std::vector<double>& v, const char* color,
                  const std::string& cls, bool step) {
    std::string pts;
    for (size_t b = 0; b < v.size(); ++b) {
      double t0 = static_cast<double>(b * bin),
             t1 = std::min(span, static_cast<double>((b + 1) * bin));
      if (step) {
        absl::StrAppend(&pts, pts.empty() ? "" : " ", Px(f.X(t0)), ",", Px(f.Y(v[b])), " ",
                        Px(f.X(t1)), ",", Px(f.Y(v[b])));
      } else {
        absl::StrAppend(&pts, pts.empty() ? "" : " ", Px(f.X((t0 + t1) / 2)), ",", Px(f.Y(v[b])));
      }
    }
    absl::StrAppend(&out, "<polyline class=\"", cls, "\" fill=\"none\" stroke=\"", color,
                    "\" stroke-width=\"1.6\" points=\"", pts, "\"/>\n");
  };
  line(fr, rate, kBlue, "rate", false);
  if (in.fixed_replicas > 0) {
    double y = fn.Y(in.fixed_replicas);
    absl::StrAppend(&out, "<line class=\"fixed\" x1=\"", Px(fn.x0), "\" y1=\"", Px(y), "\" x2=\"",
                    Px(fn.x0 + fn.width), "\" y2=\"", Px(y),
                    "\" stroke=\"#000\" stroke-dasharray=\"6,4\"/>\n");
  }
  line(fn, pods, kVermillion, "replicas", true);
  line(fn, ready, kGreen, "ready", true);
  // Legends, right of each panel.
  double lx = fr.x0 + fr.width + 24;
  auto entry = [&](double y, const char* color, bool dashed, const std::string& text) {
    absl::StrAppend(&out, "<line x1=\"", Px(lx), "\" y1=\"", Px(y), "\" x2=\"", Px(lx + 22),
                    "\" y2=\"", Px(y), "\" stroke=\"", color, "\" stroke-width=\"2.5\"",
                    dashed ? " stroke-dasharray=\"6,4\"" : "", "/><text x=\"", Px(lx + 28),
                    "\" y=\"", Px(y + 4), "\">", Escape(text), "</text>\n");
  };
  entry(fr.y0 + 10, kBlue, false, "requests/s (the trace)");
  if (!in.held_out.empty()) {
    absl::StrAppend(&out, "<rect x=\"", Px(lx), "\" y=\"", Px(fr.y0 + 26), "\" width=\"22\" ",
                    "height=\"12\" fill=\"#e8e8e8\" stroke=\"#999\"/><text x=\"", Px(lx + 28),
                    "\" y=\"", Px(fr.y0 + 36), "\">held out (not searched)</text>\n");
  }
  if (bin > 1) {
    absl::StrAppend(&out, "<text x=\"", Px(lx), "\" y=\"", Px(fr.y0 + 62), "\" fill=\"#444\">", bin,
                    " s per point (mean)</text>\n");
  }
  entry(fn.y0 + 10, kVermillion, false, "pods (paid for)");
  entry(fn.y0 + 30, kGreen, false, "ready pods");
  if (in.fixed_replicas > 0) {
    entry(fn.y0 + 50, "#000", true, absl::StrCat("cheapest fixed fleet (", in.fixed_replicas, ")"));
  }
  absl::StrAppend(&out, "<text x=\"", Px(fn.x0), "\" y=\"", Px(fn.y0 - 10),
                  "\" font-weight=\"bold\">", Escape(in.policy), "</text>\n");
  out += "</svg>\n";
  return out;
}

}  // namespace tide::tune
