#pragma once

// The simulated model: a first-class backend for demos, tests and autoscaling
// experiments. Each batch costs compute_ms + per_item_ms × rows, drawn from a
// distribution, and is spent either burning CPU (mode "cpu": 100 ms of work is
// 100 ms of one core's CPU time, which is what makes CPU-based HPA react) or
// sleeping (mode "sleep": an I/O- or GPU-bound model). Outputs are a
// deterministic function of the inputs so clients can check them.
//
// config.pbtxt parameters (all optional):
//   compute_ms    per-batch cost in ms (default 50)
//   per_item_ms   extra cost per batch row in ms (default 0)
//   distribution  fixed | exponential | lognormal (default fixed)
//   jitter        lognormal sigma (default 0.25)
//   mode          cpu | sleep | gpu (default cpu). gpu: sleeps like sleep, on
//                 a simulated GPU per instance (instance_group count) whose
//                 busy fraction, the share of the last gpu_window_ms a batch
//                 occupied it, tide serve exports as tide_gpu_utilization_ratio
//                 {simulated="true"} (with memory: memory_mb used of
//                 gpu_memory_mb)
//   gpu_window_ms the simulated GPU's sample period in ms (default 1000,
//                 NVML's longest; from 10 to 60000)
//   gpu_memory_mb the simulated GPU's memory in MiB (default 16384, at least
//                 memory_mb)
//   seed          random seed (default 1)
//   output        echo (OUTPUTi = INPUTi) | add_sub (OUTPUT0 = IN0+IN1,
//                 OUTPUT1 = IN0-IN1, Triton's "simple") (default echo)
//   load_ms       time spent loading (default 0)
//   memory_mb     memory allocated and touched at load, like weights (default 0,
//                 at most kMaxSimulatedMemoryMb; an allocation that fails fails
//                 the load with ResourceExhausted)

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backends/backend.h"
#include "backends/simulated/service_time.h"

namespace tide::backends {

// The largest `memory_mb` (16 GiB): a bound on what a config can make tide allocate.
inline constexpr double kMaxSimulatedMemoryMb = 16384;

struct SimulatedParams {
  double compute_ms = 50;
  double per_item_ms = 0;
  using Distribution = ServiceTimeDistribution;
  Distribution distribution = Distribution::kFixed;
  double jitter = 0.25;
  enum class Mode { kCpu, kSleep, kGpu } mode = Mode::kCpu;
  double gpu_window_ms = 1000;
  double gpu_memory_mb = 16384;
  uint64_t seed = 1;
  enum class Output { kEcho, kAddSub } output = Output::kEcho;
  double load_ms = 0;
  double memory_mb = 0;
};

// The service-time part of the parameters (what `tide sim` needs).
inline ServiceTimeParams ServiceTimeOf(const SimulatedParams& p) {
  return ServiceTimeParams{p.compute_ms, p.per_item_ms, p.distribution, p.jitter};
}

// Parses and checks the parameters against the model's inputs/outputs.
absl::StatusOr<SimulatedParams> ParseSimulatedParams(const core::ModelSpec& spec);

absl::StatusOr<std::unique_ptr<Model>> LoadSimulatedModel(const LoadContext& ctx);

// Spends `d` of this thread's CPU time (not wall time) in a busy loop.
void BurnCpu(absl::Duration d);

}  // namespace tide::backends
