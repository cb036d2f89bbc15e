#pragma once

// Real GPUs through NVML, loaded at run time with dlopen (never linked: a
// machine without NVIDIA's driver runs tide unchanged). Create() loads the
// library, resolves the few functions tide uses, initialises NVML and lists
// the devices; it fails, saying why, when the library is missing, lacks a
// symbol, NVML cannot initialise (no driver) or there is no device. The
// caller logs that reason once and exports no GPU metric.
//
// Read() samples every device at call time (tide calls it on each scrape of
// /metrics): nvmlDeviceGetUtilizationRates' utilization.gpu (the percent of
// the driver's last sample period, 1/6 s to 1 s depending on the product,
// during which a kernel ran) / 100, and nvmlDeviceGetMemoryInfo's used and
// total bytes. A call that fails leaves that device's values out for this
// read; each distinct failure (device, call, error) is logged once.
//
// Thread-safe (one mutex). The destructor calls nvmlShutdown and dlcloses.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "metrics/gpu/gpu_metrics.h"

namespace tide::metrics {

class NvmlGpuSource {
 public:
  struct Options {
    // What dlopen is given (a soname or a path; tests pass a fake library).
    std::string library = "libnvidia-ml.so.1";
    // Where failures of individual calls go (each once); default spdlog::warn.
    std::function<void(const std::string&)> log;
  };

  static absl::StatusOr<std::unique_ptr<NvmlGpuSource>> Create(Options options);
  ~NvmlGpuSource();
  NvmlGpuSource(const NvmlGpuSource&) = delete;
  NvmlGpuSource& operator=(const NvmlGpuSource&) = delete;

  std::vector<GpuReading> Read();
  size_t device_count() const { return devices_.size(); }

  struct Api;  // the resolved NVML functions (nvml_gpu_source.cc)

 private:
  struct Device {
    unsigned index;
    void* handle;
    std::string uuid;
  };
  NvmlGpuSource(Options options, void* library, std::unique_ptr<Api> api);
  void LogOnce(unsigned index, const char* call, int code) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  void* library_;
  std::unique_ptr<Api> api_;
  std::vector<Device> devices_;
  absl::Mutex mu_;
  std::set<std::tuple<unsigned, std::string, int>> logged_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tide::metrics
