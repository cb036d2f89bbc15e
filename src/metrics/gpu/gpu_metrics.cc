#include "metrics/gpu/gpu_metrics.h"

#include <utility>

#include "metrics/metric_names.h"

namespace tide::metrics {

std::vector<CollectedFamily> GpuFamilies(const std::vector<GpuReading>& readings) {
  std::vector<CollectedFamily> out(3);
  out[0] = {names::kGpuUtilizationRatio,
            "Share of the last sample period in which the GPU was busy (0..1).",
            Type::kGauge,
            {}};
  out[1] = {names::kGpuMemoryUsedBytes, "GPU memory in use in bytes.", Type::kGauge, {}};
  out[2] = {names::kGpuMemoryTotalBytes, "GPU memory in all in bytes.", Type::kGauge, {}};
  for (const GpuReading& r : readings) {
    std::vector<std::pair<std::string, std::string>> labels = {{"gpu", r.gpu}, {"uuid", r.uuid}};
    if (r.simulated) labels.emplace_back("simulated", "true");
    const std::optional<double>* values[] = {&r.utilization, &r.memory_used_bytes,
                                             &r.memory_total_bytes};
    for (int i = 0; i < 3; ++i) {
      if (*values[i]) out[i].series.push_back({labels, **values[i]});
    }
  }
  return out;
}

void AddGpuMetrics(Registry* registry, std::vector<GpuReader> sources) {
  registry->AddCollector([sources = std::move(sources)] {
    std::vector<GpuReading> all;
    for (const GpuReader& read : sources) {
      for (GpuReading& r : read()) all.push_back(std::move(r));
    }
    return GpuFamilies(all);
  });
}

}  // namespace tide::metrics
