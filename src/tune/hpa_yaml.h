#pragma once

// The recommended HPA as autoscaling/v2 YAML, each value with a comment that
// says why it was chosen (what the neighbouring values the search tried gave).

#include <string>
#include <vector>

#include "tune/tune.h"

namespace tide::tune {

// Comment lines (without "# ") for each part of the YAML.
struct YamlComments {
  std::vector<std::string> header;
  std::vector<std::string> min_replicas;
  std::vector<std::string> max_replicas;
  std::vector<std::string> metric;  // the metric and its target
  std::vector<std::string> scale_up;
  std::vector<std::string> scale_down;
};

// Why each value of `result.evaluations[index]`: for each dimension, what the
// candidates that differ from it only there gave (attainment, replica-seconds),
// and for the metric, the best candidate of each other metric.
YamlComments Explain(const TuneResult& result, int index, double slo_attainment);

// The HorizontalPodAutoscaler `tide` of Deployment `tide`.
std::string HpaYaml(const Candidate& c, const std::string& model, const YamlComments& comments);

}  // namespace tide::tune
