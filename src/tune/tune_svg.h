#pragma once

// `tide tune --report DIR`'s pictures (docs/tune.md), as deterministic SVG
// text (no I/O):
//  - pareto.svg: every configuration evaluated, replica-seconds against SLO
//    attainment (in-sample), the HPA candidates' Pareto front, the SLO line,
//    the reference rows and the recommendation, labelled with its figures;
//  - timeline.svg: the recommendation's replicas over time against the
//    trace's request rate, the held-out part shaded.

#include <string>
#include <vector>

#include "sim/simulation.h"
#include "tune/tune.h"

namespace tide::tune {

// A reference row (seed CPU HPA, Knative KPA, cheapest fixed fleet) on the
// in-sample part.
struct ReferencePoint {
  std::string label;
  double replica_seconds = 0;
  double attainment = 0;
};

// The y axis shows attainment on a log scale of the share missed (1 -
// attainment), so that 0.99 and 0.999 are apart while 0.2 still fits; a
// share of 0 sits on the top line, labelled 1.
std::string ParetoSvg(const TuneResult& result, const std::vector<ReferencePoint>& references,
                      double slo_attainment, const std::string& title);

struct TimelineSvgInput {
  std::string title;
  std::string policy;                       // the recommendation's name
  std::vector<sim::TimelineRow> in_sample;  // from second 0
  std::vector<sim::TimelineRow> held_out;   // from where in_sample ends; may be empty
  int32_t fixed_replicas = 0;               // the cheapest fixed fleet (a dashed line); 0: none
};

std::string TimelineSvg(const TimelineSvgInput& input);

}  // namespace tide::tune
