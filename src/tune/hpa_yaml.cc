#include "tune/hpa_yaml.h"

#include <cmath>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tide::tune {
namespace {

std::string Figures(const Evaluation& e, double slo_attainment) {
  return absl::StrFormat("%.4f attainment%s, %.0f replica-s, %d scaling events",
                         e.result.slo_attainment,
                         e.result.slo_attainment >= slo_attainment ? "" : " (misses)",
                         e.result.replica_seconds, e.result.scale_ups + e.result.scale_downs);
}

// What the candidates differing from `best` only in one field gave.
std::vector<std::string> Neighbours(
    const TuneResult& r, int index, double slo_attainment,
    const std::function<bool(const Candidate&, const Candidate&)>& same_but,
    const std::function<std::string(const Candidate&)>& value) {
  const Evaluation& best = r.evaluations[index];
  std::vector<std::string> lines;
  for (size_t i = 0; i < r.evaluations.size(); ++i) {
    const Evaluation& e = r.evaluations[i];
    if (static_cast<int>(i) == index || e.is_fixed || e.stage == "reference") continue;
    if (e.candidate.metric != best.candidate.metric || !same_but(e.candidate, best.candidate))
      continue;
    lines.push_back(absl::StrCat("  ", value(e.candidate), ": ", Figures(e, slo_attainment)));
  }
  if (lines.empty()) {
    lines.push_back("  (no other value was tried with the rest unchanged)");
  } else {
    lines.insert(lines.begin(), "Tried with everything else unchanged:");
  }
  return lines;
}

bool SameExcept(const Candidate& a, const Candidate& b, int dim) {
  return (dim == 0 || a.target == b.target) && (dim == 1 || a.min_replicas == b.min_replicas) &&
         (dim == 2 || a.up_window_s == b.up_window_s) &&
         (dim == 3 || a.up_percent == b.up_percent) &&
         (dim == 4 || a.down_window_s == b.down_window_s) &&
         (dim == 5 || a.down_percent == b.down_percent) && a.max_replicas == b.max_replicas;
}

void Append(std::vector<std::string>* to, const std::vector<std::string>& lines) {
  to->insert(to->end(), lines.begin(), lines.end());
}

void Comment(std::string* out, const std::string& indent, const std::vector<std::string>& lines) {
  for (const std::string& l : lines) absl::StrAppend(out, indent, "# ", l, "\n");
}

}  // namespace

YamlComments Explain(const TuneResult& r, int index, double slo_attainment) {
  YamlComments c;
  if (index < 0 || index >= static_cast<int>(r.evaluations.size())) return c;
  const Evaluation& best = r.evaluations[index];
  const Candidate& b = best.candidate;
  c.min_replicas.push_back(
      absl::StrCat("minReplicas ", b.min_replicas, ": the floor the replicas never go below."));
  if (r.cheapest_fixed >= 0) {
    c.min_replicas.push_back(absl::StrCat("The cheapest fixed fleet that meets the SLO is ",
                                          r.evaluations[r.cheapest_fixed].fixed_replicas,
                                          " replicas."));
  }
  Append(&c.min_replicas,
         Neighbours(
             r, index, slo_attainment,
             [](const Candidate& x, const Candidate& y) { return SameExcept(x, y, 1); },
             [](const Candidate& x) { return absl::StrCat(x.min_replicas); }));
  c.max_replicas.push_back("maxReplicas: the cap given to tide tune (--max-replicas).");
  c.metric.push_back(absl::StrCat(MetricName(b.metric), " at ", TargetQuantity(b),
                                  b.metric == Metric::kCpu ? " %" : "",
                                  ": the cheapest configuration meeting the SLO in the search."));
  c.metric.push_back("The best of each other metric searched:");
  for (Metric m : {Metric::kCpu, Metric::kQueueDepth, Metric::kP99}) {
    if (m == b.metric) continue;
    int other = -1;
    for (size_t i = 0; i < r.evaluations.size(); ++i) {
      const Evaluation& e = r.evaluations[i];
      if (e.is_fixed || e.stage == "reference" || e.candidate.metric != m) continue;
      if (other < 0 || Better(e, r.evaluations[other])) other = static_cast<int>(i);
    }
    if (other >= 0) {
      c.metric.push_back(absl::StrCat("  ", r.evaluations[other].name, ": ",
                                      Figures(r.evaluations[other], slo_attainment)));
    }
  }
  Append(&c.metric, Neighbours(
                        r, index, slo_attainment,
                        [](const Candidate& x, const Candidate& y) { return SameExcept(x, y, 0); },
                        [](const Candidate& x) { return TargetQuantity(x); }));
  c.scale_up.push_back(absl::StrCat("Window ", b.up_window_s, " s, +", b.up_percent,
                                    " % or +4 pods per 15 s (the larger)."));
  Append(&c.scale_up,
         Neighbours(
             r, index, slo_attainment,
             [](const Candidate& x, const Candidate& y) { return SameExcept(x, y, 2); },
             [](const Candidate& x) { return absl::StrCat("window ", x.up_window_s, " s"); }));
  Append(&c.scale_up,
         Neighbours(
             r, index, slo_attainment,
             [](const Candidate& x, const Candidate& y) { return SameExcept(x, y, 3); },
             [](const Candidate& x) { return absl::StrCat("+", x.up_percent, " %"); }));
  c.scale_down.push_back(
      absl::StrCat("Window ", b.down_window_s, " s, -", b.down_percent, " % per 15 s."));
  Append(&c.scale_down,
         Neighbours(
             r, index, slo_attainment,
             [](const Candidate& x, const Candidate& y) { return SameExcept(x, y, 4); },
             [](const Candidate& x) { return absl::StrCat("window ", x.down_window_s, " s"); }));
  Append(&c.scale_down,
         Neighbours(
             r, index, slo_attainment,
             [](const Candidate& x, const Candidate& y) { return SameExcept(x, y, 5); },
             [](const Candidate& x) { return absl::StrCat("-", x.down_percent, " %"); }));
  return c;
}

std::string HpaYaml(const Candidate& c, const std::string& model, const YamlComments& why) {
  std::string out;
  Comment(&out, "", why.header);
  absl::StrAppend(&out,
                  "apiVersion: autoscaling/v2\n"
                  "kind: HorizontalPodAutoscaler\n"
                  "metadata:\n"
                  "  name: tide\n"
                  "spec:\n"
                  "  scaleTargetRef:\n"
                  "    apiVersion: apps/v1\n"
                  "    kind: Deployment\n"
                  "    name: tide\n");
  Comment(&out, "  ", why.min_replicas);
  absl::StrAppend(&out, "  minReplicas: ", c.min_replicas, "\n");
  Comment(&out, "  ", why.max_replicas);
  absl::StrAppend(&out, "  maxReplicas: ", c.max_replicas, "\n  metrics:\n");
  Comment(&out, "    ", why.metric);
  std::string selector = absl::StrCat(
      "          selector:\n            matchLabels:\n              model: \"", model, "\"\n");
  switch (c.metric) {
    case Metric::kCpu:
      absl::StrAppend(&out,
                      "    - type: Resource\n"
                      "      resource:\n"
                      "        name: cpu\n"
                      "        target:\n"
                      "          type: Utilization\n"
                      "          averageUtilization: ",
                      TargetQuantity(c), "\n");
      break;
    case Metric::kQueueDepth:
      absl::StrAppend(&out,
                      "    - type: Pods\n"
                      "      pods:\n"
                      "        metric:\n"
                      "          name: tide_inference_queue_depth\n",
                      selector,
                      "        target:\n"
                      "          type: AverageValue\n"
                      "          averageValue: \"",
                      TargetQuantity(c), "\"\n");
      break;
    case Metric::kP99:
      absl::StrAppend(&out,
                      "    - type: External\n"
                      "      external:\n"
                      "        metric:\n"
                      "          name: tide_inference_request_duration_seconds_p99\n",
                      selector,
                      "        target:\n"
                      "          type: Value\n"
                      "          value: \"",
                      TargetQuantity(c), "\"\n");
      break;
  }
  absl::StrAppend(&out, "  behavior:\n    scaleUp:\n");
  Comment(&out, "      ", why.scale_up);
  absl::StrAppend(&out, "      stabilizationWindowSeconds: ", c.up_window_s,
                  "\n      policies:\n        - type: Percent\n          value: ", c.up_percent,
                  "\n          periodSeconds: 15\n        - type: Pods\n          value: 4\n"
                  "          periodSeconds: 15\n      selectPolicy: Max\n    scaleDown:\n");
  Comment(&out, "      ", why.scale_down);
  absl::StrAppend(&out, "      stabilizationWindowSeconds: ", c.down_window_s,
                  "\n      policies:\n        - type: Percent\n          value: ", c.down_percent,
                  "\n          periodSeconds: 15\n      selectPolicy: Max\n");
  return out;
}

}  // namespace tide::tune
