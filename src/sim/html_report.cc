#include "sim/html_report.h"

#include <algorithm>
#include <cmath>

#include "dashboard/page.h"
#include "nlohmann/json.hpp"
#include "sim/report.h"

namespace tide::sim {

namespace {

using nlohmann::json;

json Policy(const PolicyResult& r) {
  const size_t n = r.timeline.size();
  const size_t bin = std::max<size_t>(1, (n + kHtmlMaxPoints - 1) / kHtmlMaxPoints);
  json t = json::array(), arrivals = json::array(), completed = json::array(),
       desired = json::array(), ready = json::array(), queued = json::array(),
       rejected = json::array(), p99 = json::array();
  for (size_t start = 0; start < n; start += bin) {
    const size_t end = std::min(n, start + bin);
    const double k = static_cast<double>(end - start);
    double a = 0, c = 0, d = 0, rd = 0, q = 0, rj = 0, p = -1;
    for (size_t i = start; i < end; ++i) {
      const TimelineRow& row = r.timeline[i];
      a += static_cast<double>(row.arrivals);
      c += static_cast<double>(row.completed);
      d += row.desired;
      rd += row.ready;
      q += static_cast<double>(row.queued);
      rj += static_cast<double>(row.rejected);
      p = std::max(p, row.p99_s);
    }
    t.push_back(r.timeline[start].second);
    arrivals.push_back(a / k);
    completed.push_back(c / k);
    desired.push_back(d / k);
    ready.push_back(rd / k);
    queued.push_back(q / k);
    rejected.push_back(rj / k);
    p99.push_back(p >= 0 && std::isfinite(p) ? json(p) : json(nullptr));
  }
  return json{{"name", r.name},         {"bin_s", bin},           {"t", std::move(t)},
              {"arrivals", arrivals},   {"completed", completed}, {"desired", desired},
              {"ready", ready},         {"queued", queued},       {"rejected", rejected},
              {"p99_s", std::move(p99)}};
}

}  // namespace

std::string HtmlReportData(const std::vector<PolicyResult>& results, double slo_s,
                           const std::string& title) {
  json policies = json::array();
  for (const PolicyResult& r : results) policies.push_back(Policy(r));
  json data{{"kind", "sim"},
            {"title", title},
            {"slo_s", slo_s},
            {"summary", json::parse(ResultsJson(results, 0))},
            {"policies", std::move(policies)}};
  return data.dump();
}

std::string HtmlReport(const std::vector<PolicyResult>& results, double slo_s,
                       const std::string& title) {
  return dashboard::PageWithData(HtmlReportData(results, slo_s, title));
}

}  // namespace tide::sim
