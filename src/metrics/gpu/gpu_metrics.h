#pragma once

// The GPU metrics of `tide serve`: tide_gpu_utilization_ratio,
// tide_gpu_memory_used_bytes and tide_gpu_memory_total_bytes, one series per
// device, computed when /metrics is rendered from any number of sources (NVML
// for real GPUs, nvml_gpu_source.h; the simulated backend's devices). A value
// a source could not read is left out, as is a family no device has: a
// machine without a GPU exports none of them.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "metrics/metrics.h"

namespace tide::metrics {

// What one device reported at one read.
struct GpuReading {
  std::string gpu;                    // label gpu: the device index ("0", "1", ...)
  std::string uuid;                   // label uuid: NVML's "GPU-..." or a simulated device's
  bool simulated = false;             // adds label simulated="true"
  std::optional<double> utilization;  // 0..1
  std::optional<double> memory_used_bytes;
  std::optional<double> memory_total_bytes;
};

using GpuReader = std::function<std::vector<GpuReading>()>;

// The three families for these readings (series in reading order; families
// with no value left empty, which the renderer omits).
std::vector<CollectedFamily> GpuFamilies(const std::vector<GpuReading>& readings);

// Registers a collector that reads every source on each render.
void AddGpuMetrics(Registry* registry, std::vector<GpuReader> sources);

}  // namespace tide::metrics
