#pragma once

// The picture a person reads at a glance: three panels over the same time
// axis — the request rate, the ready replicas of each policy, and each
// policy's per-second p99 latency against the SLO line — with axes, units
// and a legend. Long runs are binned to at most ~1000 columns (rate and
// replicas averaged, p99 the bin's maximum). Deterministic text.

#include <string>
#include <vector>

#include "sim/simulation.h"

namespace tide::sim {

std::string SvgReport(const std::vector<PolicyResult>& results, double slo_s,
                      const std::string& title);

}  // namespace tide::sim
