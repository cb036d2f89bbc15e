#include "server/gpu_metrics_setup.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/backend.h"
#include "metrics/gpu/nvml_gpu_source.h"
#include "spdlog/spdlog.h"

namespace tide::server {

std::vector<metrics::GpuReading> SimulatedGpuReadings(
    const std::vector<std::shared_ptr<core::LoadedModel>>& models, absl::Time now) {
  std::vector<metrics::GpuReading> out;
  int next = 0;
  for (const auto& lm : models) {
    if (!lm || !lm->keepalive) continue;
    const auto* model = static_cast<const backends::Model*>(lm->keepalive.get());
    for (const backends::Model::DeviceUsage& d : model->Devices(now)) {
      metrics::GpuReading r;
      r.gpu = absl::StrCat(next++);
      r.uuid = absl::StrCat("SIM-", lm->spec.name, "-", lm->version, "-", d.instance);
      r.simulated = true;
      r.utilization = d.utilization;
      r.memory_used_bytes = d.memory_used_bytes;
      r.memory_total_bytes = d.memory_total_bytes;
      out.push_back(std::move(r));
    }
  }
  return out;
}

void AddServeGpuMetrics(metrics::Registry* registry, const core::InferenceService* service,
                        const std::string& nvml_library) {
  std::vector<metrics::GpuReader> sources;
  if (nvml_library.empty() || nvml_library == "none") {
    spdlog::info("GPU metrics: NVML not loaded (--nvml-library {})",
                 nvml_library.empty() ? "''" : nvml_library);
  } else {
    metrics::NvmlGpuSource::Options no;
    no.library = nvml_library;
    auto nvml = metrics::NvmlGpuSource::Create(std::move(no));
    if (nvml.ok()) {
      spdlog::info("GPU metrics: {} GPU(s) through NVML ({}), sampled at each scrape",
                   (*nvml)->device_count(), nvml_library);
      std::shared_ptr<metrics::NvmlGpuSource> source = *std::move(nvml);
      sources.push_back([source] { return source->Read(); });
    } else {
      spdlog::info("GPU metrics: none from NVML: {}", std::string(nvml.status().message()));
    }
  }
  sources.push_back([service] { return SimulatedGpuReadings(service->Models(), absl::Now()); });
  metrics::AddGpuMetrics(registry, std::move(sources));
}

}  // namespace tide::server
