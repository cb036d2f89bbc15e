#pragma once

// report.html of `tide sim --report DIR`: the dashboard page (src/dashboard)
// with the run embedded — the summary table (ResultsJson's fields) and, per
// policy, the per-second timeline: offered and served rate, ready replicas,
// p99 against the SLO, queue and refusals. Runs longer than kMaxPoints seconds
// are averaged over bins (p99: the bin's maximum), as the SVG does. Pure.

#include <string>
#include <vector>

#include "sim/simulation.h"

namespace tide::sim {

inline constexpr size_t kHtmlMaxPoints = 1500;

// The embedded data alone:
// {"kind":"sim","title":..,"slo_s":..,"summary":<ResultsJson>,"policies":[{"name",
//  "bin_s","t":[..],"arrivals":[..],"completed":[..],"desired":[..],"ready":[..],
//  "queued":[..],"rejected":[..],"p99_s":[..|null]}]}; per-second rates.
std::string HtmlReportData(const std::vector<PolicyResult>& results, double slo_s,
                           const std::string& title);

// The page with HtmlReportData embedded.
std::string HtmlReport(const std::vector<PolicyResult>& results, double slo_s,
                       const std::string& title);

}  // namespace tide::sim
