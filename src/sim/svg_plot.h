#pragma once

// Small pieces shared by tide's SVG pictures (sim/svg_report.cc,
// tune/tune_svg.cc): escaping, "nice" tick steps, number formatting, a
// colour-blind-safe palette and a plot frame (axes, grid, tick labels, axis
// titles) that maps data to pixels. Pure string building; deterministic.

#include <string>
#include <utility>
#include <vector>

namespace tide::sim::svg {

// Okabe & Ito's palette (distinguishable with the common colour-vision
// deficiencies): blue, orange, bluish green, vermillion, reddish purple, sky
// blue, yellow, black.
inline constexpr const char* kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                           "#CC79A7", "#56B4E9", "#F0E442", "#000000"};

// <, >, &, " as entities.
std::string Escape(const std::string& s);
// A "nice" step (1, 2, 2.5, 5 x 10^k) for about `n` ticks over [0, max].
double NiceStep(double max, int n);
// Pixel coordinates: one decimal.
std::string Px(double v);
// Tick labels: "0", "2.5", "1500".
std::string TickLabel(double v);

// A rectangular plot area and the data ranges it shows. Values outside the
// range are clamped to its edge.
struct Frame {
  double x0 = 0, y0 = 0, width = 100, height = 100;  // pixels; (x0, y0) is the top left
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double X(double v) const;
  double Y(double v) const;
};

// Ticks at 0, step, 2 step, ... <= max (NiceStep(max, n)), labelled.
std::vector<std::pair<double, std::string>> LinearTicks(double max, int n);

// The frame's border, horizontal grid lines with y tick labels, x ticks with
// labels, and the axis titles (the y title rotated, left of the labels).
void DrawAxes(std::string* out, const Frame& f,
              const std::vector<std::pair<double, std::string>>& x_ticks,
              const std::vector<std::pair<double, std::string>>& y_ticks,
              const std::string& x_title, const std::string& y_title);

}  // namespace tide::sim::svg
