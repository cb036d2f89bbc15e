#pragma once

// tide serve's GPU metrics (metrics/gpu): the machine's NVIDIA GPUs through
// NVML, and the simulated backend's devices (mode gpu) of the models served
// at the moment /metrics is rendered, both under tide_gpu_utilization_ratio,
// tide_gpu_memory_used_bytes and tide_gpu_memory_total_bytes.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/inference_service.h"
#include "metrics/gpu/gpu_metrics.h"
#include "metrics/metrics.h"

namespace tide::server {

// The devices of `models` that their backends account for, numbered in
// model order from 0 (label gpu), uuid "SIM-<model>-<version>-<instance>",
// simulated="true".
std::vector<metrics::GpuReading> SimulatedGpuReadings(
    const std::vector<std::shared_ptr<core::LoadedModel>>& models, absl::Time now);

// Registers the GPU collector. NVML is loaded from `nvml_library` once, now
// ("" or "none": not at all); when it cannot be (no driver, no GPU) the
// reason is logged once and only simulated devices are reported. `service`
// must outlive `registry`'s renders.
void AddServeGpuMetrics(metrics::Registry* registry, const core::InferenceService* service,
                        const std::string& nvml_library);

}  // namespace tide::server
