// A fake libnvidia-ml.so.1 for tests: the NVML functions tide resolves, with
// values a test sets through the fake_nvml_* control functions (found with
// dlsym on the same library) or, for a test that drives the tide binary,
// through FAKE_NVML_DEVICES read at nvmlInit_v2:
//   FAKE_NVML_DEVICES="GPU-uuid0:util%:used_bytes:total_bytes,GPU-uuid1:..."
// (empty: no device). Not thread-safe; single-threaded tests only.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kSuccess = 0;
constexpr int kUninitialized = 1;
constexpr int kInvalidArgument = 2;
constexpr int kInsufficientSize = 7;

struct FakeDevice {
  std::string uuid;
  unsigned util = 0;
  unsigned long long used = 0, total = 0;
  int util_error = 0, memory_error = 0, uuid_error = 0;
};

struct State {
  int init_result = kSuccess;
  int count_result = kSuccess;
  bool initialised = false;
  int init_calls = 0, shutdown_calls = 0;
  std::vector<FakeDevice> devices;
};

State& S() {
  static State s;
  return s;
}

void ReadEnv() {
  const char* env = std::getenv("FAKE_NVML_DEVICES");
  if (env == nullptr) return;
  S().devices.clear();
  std::string all = env;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t comma = all.find(',', pos);
    std::string item =
        all.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? all.size() : comma + 1;
    FakeDevice d;
    char uuid[96] = {};
    if (std::sscanf(item.c_str(), "%95[^:]:%u:%llu:%llu", uuid, &d.util, &d.used, &d.total) == 4) {
      d.uuid = uuid;
      S().devices.push_back(d);
    }
  }
}

}  // namespace

extern "C" {

struct FakeUtilization {
  unsigned int gpu, memory;
};
struct FakeMemory {
  unsigned long long total, free, used;
};

// Control functions.
void fake_nvml_reset() { S() = State{}; }
void fake_nvml_set_init_result(int code) { S().init_result = code; }
void fake_nvml_set_count_result(int code) { S().count_result = code; }
void fake_nvml_add_device(const char* uuid, unsigned util, unsigned long long used,
                          unsigned long long total) {
  FakeDevice d;
  d.uuid = uuid;
  d.util = util;
  d.used = used;
  d.total = total;
  S().devices.push_back(d);
}
void fake_nvml_set_utilization(unsigned i, unsigned util) { S().devices.at(i).util = util; }
// call: "utilization", "memory" or "uuid"; code 0 clears the failure.
void fake_nvml_fail(unsigned i, const char* call, int code) {
  FakeDevice& d = S().devices.at(i);
  if (std::strcmp(call, "utilization") == 0) d.util_error = code;
  if (std::strcmp(call, "memory") == 0) d.memory_error = code;
  if (std::strcmp(call, "uuid") == 0) d.uuid_error = code;
}
int fake_nvml_init_calls() { return S().init_calls; }
int fake_nvml_shutdown_calls() { return S().shutdown_calls; }

// NVML.
int nvmlInit_v2() {
  ++S().init_calls;
  ReadEnv();
  if (S().init_result != kSuccess) return S().init_result;
  S().initialised = true;
  return kSuccess;
}
int nvmlShutdown() {
  ++S().shutdown_calls;
  S().initialised = false;
  return kSuccess;
}
const char* nvmlErrorString(int code) {
  switch (code) {
    case 0:
      return "Success";
    case 1:
      return "Uninitialized";
    case 2:
      return "Invalid Argument";
    case 7:
      return "Insufficient Size";
    case 9:
      return "Driver Not Loaded";
    case 999:
      return "Unknown Error";
    default:
      return "Fake Error";
  }
}
int nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!S().initialised) return kUninitialized;
  if (S().count_result != kSuccess) return S().count_result;
  *count = static_cast<unsigned>(S().devices.size());
  return kSuccess;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void** handle) {
  if (!S().initialised) return kUninitialized;
  if (i >= S().devices.size()) return kInvalidArgument;
  *handle = reinterpret_cast<void*>(static_cast<uintptr_t>(i + 1));
  return kSuccess;
}
namespace {
FakeDevice* Dev(void* handle) {
  auto i = reinterpret_cast<uintptr_t>(handle);
  if (!S().initialised || i == 0 || i > S().devices.size()) return nullptr;
  return &S().devices[i - 1];
}
}  // namespace
int nvmlDeviceGetUUID(void* handle, char* out, unsigned int length) {
  FakeDevice* d = Dev(handle);
  if (d == nullptr) return kInvalidArgument;
  if (d->uuid_error) return d->uuid_error;
  if (d->uuid.size() + 1 > length) return kInsufficientSize;
  std::memcpy(out, d->uuid.c_str(), d->uuid.size() + 1);
  return kSuccess;
}
int nvmlDeviceGetUtilizationRates(void* handle, FakeUtilization* u) {
  FakeDevice* d = Dev(handle);
  if (d == nullptr) return kInvalidArgument;
  if (d->util_error) return d->util_error;
  u->gpu = d->util;
  u->memory = d->util / 2;
  return kSuccess;
}
int nvmlDeviceGetMemoryInfo(void* handle, FakeMemory* m) {
  FakeDevice* d = Dev(handle);
  if (d == nullptr) return kInvalidArgument;
  if (d->memory_error) return d->memory_error;
  m->total = d->total;
  m->used = d->used;
  m->free = d->total - d->used;
  return kSuccess;
}

}  // extern "C"
