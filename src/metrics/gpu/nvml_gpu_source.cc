#include "metrics/gpu/nvml_gpu_source.h"

#include <dlfcn.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace tide::metrics {
namespace {

// The few NVML types tide needs, declared from NVML's documented ABI (nvml.h
// is not needed to build tide).
using nvmlReturn_t = int;
constexpr nvmlReturn_t kNvmlSuccess = 0;
using nvmlDevice_t = void*;
struct nvmlUtilization_t {
  unsigned int gpu;     // percent of the sample period a kernel ran
  unsigned int memory;  // percent of it device memory was read or written
};
struct nvmlMemory_t {  // version 1, as nvmlDeviceGetMemoryInfo fills it
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr unsigned int kUuidBufferSize = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE

}  // namespace

struct NvmlGpuSource::Api {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  const char* (*error_string)(nvmlReturn_t);
  nvmlReturn_t (*get_count)(unsigned int*);
  nvmlReturn_t (*get_handle)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*get_uuid)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*get_utilization)(nvmlDevice_t, nvmlUtilization_t*);
  nvmlReturn_t (*get_memory)(nvmlDevice_t, nvmlMemory_t*);

  std::string Error(nvmlReturn_t code) const {
    const char* s = error_string ? error_string(code) : nullptr;
    return absl::StrCat(s ? s : "unknown error", " (NVML error ", code, ")");
  }
};

namespace {

template <typename F>
bool Resolve(void* lib, const char* name, F* out, std::string* missing) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (*out == nullptr && missing->empty()) *missing = name;
  return *out != nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NvmlGpuSource>> NvmlGpuSource::Create(Options options) {
  if (!options.log) {
    options.log = [](const std::string& m) { spdlog::warn("{}", m); };
  }
  void* lib = dlopen(options.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    return absl::NotFoundError(absl::StrCat("cannot load NVML (", options.library,
                                            "): ", why ? why : "dlopen failed",
                                            " (no NVIDIA driver on this machine?)"));
  }
  auto api = std::make_unique<Api>();
  std::string missing;
  Resolve(lib, "nvmlInit_v2", &api->init, &missing);
  Resolve(lib, "nvmlShutdown", &api->shutdown, &missing);
  Resolve(lib, "nvmlErrorString", &api->error_string, &missing);
  Resolve(lib, "nvmlDeviceGetCount_v2", &api->get_count, &missing);
  Resolve(lib, "nvmlDeviceGetHandleByIndex_v2", &api->get_handle, &missing);
  Resolve(lib, "nvmlDeviceGetUUID", &api->get_uuid, &missing);
  Resolve(lib, "nvmlDeviceGetUtilizationRates", &api->get_utilization, &missing);
  Resolve(lib, "nvmlDeviceGetMemoryInfo", &api->get_memory, &missing);
  if (!missing.empty()) {
    dlclose(lib);
    return absl::FailedPreconditionError(
        absl::StrCat("NVML library ", options.library, " has no symbol ", missing));
  }
  if (nvmlReturn_t r = api->init(); r != kNvmlSuccess) {
    std::string why = api->Error(r);
    dlclose(lib);
    return absl::UnavailableError(absl::StrCat("nvmlInit_v2 failed: ", why));
  }
  // From here on the source owns the library and NVML's initialisation.
  std::unique_ptr<NvmlGpuSource> source(new NvmlGpuSource(std::move(options), lib, std::move(api)));
  const Api& a = *source->api_;
  unsigned int count = 0;
  if (nvmlReturn_t r = a.get_count(&count); r != kNvmlSuccess) {
    return absl::UnavailableError(absl::StrCat("nvmlDeviceGetCount_v2 failed: ", a.Error(r)));
  }
  if (count == 0) return absl::NotFoundError("NVML reports no GPU (nvmlDeviceGetCount_v2 = 0)");
  for (unsigned int i = 0; i < count; ++i) {
    nvmlDevice_t handle = nullptr;
    if (nvmlReturn_t r = a.get_handle(i, &handle); r != kNvmlSuccess) {
      source->options_.log(absl::StrCat("GPU ", i, ": nvmlDeviceGetHandleByIndex_v2 failed: ",
                                        a.Error(r), "; its metrics are left out"));
      continue;
    }
    char uuid[kUuidBufferSize] = {};
    if (nvmlReturn_t r = a.get_uuid(handle, uuid, kUuidBufferSize); r != kNvmlSuccess) {
      source->options_.log(absl::StrCat("GPU ", i, ": nvmlDeviceGetUUID failed: ", a.Error(r),
                                        "; its metrics are left out"));
      continue;
    }
    uuid[kUuidBufferSize - 1] = '\0';
    source->devices_.push_back(Device{i, handle, uuid});
  }
  if (source->devices_.empty()) {
    return absl::UnavailableError(
        absl::StrCat("NVML lists ", count, " GPU(s) but none could be opened"));
  }
  return source;
}

NvmlGpuSource::NvmlGpuSource(Options options, void* library, std::unique_ptr<Api> api)
    : options_(std::move(options)), library_(library), api_(std::move(api)) {}

NvmlGpuSource::~NvmlGpuSource() {
  api_->shutdown();
  dlclose(library_);
}

void NvmlGpuSource::LogOnce(unsigned index, const char* call, int code) {
  if (!logged_.emplace(index, call, code).second) return;
  options_.log(absl::StrCat("GPU ", index, ": ", call, " failed: ", api_->Error(code),
                            "; that metric is left out while it fails (logged once)"));
}

std::vector<GpuReading> NvmlGpuSource::Read() {
  absl::MutexLock lock(&mu_);
  std::vector<GpuReading> out;
  out.reserve(devices_.size());
  for (const Device& d : devices_) {
    GpuReading r;
    r.gpu = absl::StrCat(d.index);
    r.uuid = d.uuid;
    nvmlUtilization_t u{};
    if (nvmlReturn_t code = api_->get_utilization(d.handle, &u); code == kNvmlSuccess) {
      r.utilization = static_cast<double>(u.gpu) / 100.0;
    } else {
      LogOnce(d.index, "nvmlDeviceGetUtilizationRates", code);
    }
    nvmlMemory_t m{};
    if (nvmlReturn_t code = api_->get_memory(d.handle, &m); code == kNvmlSuccess) {
      r.memory_used_bytes = static_cast<double>(m.used);
      r.memory_total_bytes = static_cast<double>(m.total);
    } else {
      LogOnce(d.index, "nvmlDeviceGetMemoryInfo", code);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace tide::metrics
