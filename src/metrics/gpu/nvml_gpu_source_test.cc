#include "metrics/gpu/nvml_gpu_source.h"

#include <dlfcn.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "metrics/gpu/gpu_metrics.h"
#include "metrics/metrics.h"

namespace tide::metrics {
namespace {

// The fake library's control functions, from the same dlopen handle the
// source under test gets (dlopen of one path is one library).
class FakeNvml {
 public:
  FakeNvml() : lib_(dlopen(FAKE_NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL)) {
    if (lib_ == nullptr) return;
    reset = Sym<void (*)()>("fake_nvml_reset");
    set_init_result = Sym<void (*)(int)>("fake_nvml_set_init_result");
    add_device = Sym<void (*)(const char*, unsigned, unsigned long long, unsigned long long)>(
        "fake_nvml_add_device");
    set_utilization = Sym<void (*)(unsigned, unsigned)>("fake_nvml_set_utilization");
    fail = Sym<void (*)(unsigned, const char*, int)>("fake_nvml_fail");
    init_calls = Sym<int (*)()>("fake_nvml_init_calls");
    shutdown_calls = Sym<int (*)()>("fake_nvml_shutdown_calls");
    reset();
  }
  ~FakeNvml() {
    if (lib_) dlclose(lib_);
  }
  bool loaded() const { return lib_ != nullptr; }

  void (*reset)() = nullptr;
  void (*set_init_result)(int) = nullptr;
  void (*add_device)(const char*, unsigned, unsigned long long, unsigned long long) = nullptr;
  void (*set_utilization)(unsigned, unsigned) = nullptr;
  void (*fail)(unsigned, const char*, int) = nullptr;
  int (*init_calls)() = nullptr;
  int (*shutdown_calls)() = nullptr;

 private:
  template <typename F>
  F Sym(const char* name) {
    return reinterpret_cast<F>(dlsym(lib_, name));
  }
  void* lib_;
};

class NvmlGpuSourceTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fake_.loaded()) << dlerror(); }

  absl::StatusOr<std::unique_ptr<NvmlGpuSource>> Create() {
    NvmlGpuSource::Options o;
    o.library = FAKE_NVML_LIBRARY;
    o.log = [this](const std::string& m) { logs_.push_back(m); };
    return NvmlGpuSource::Create(o);
  }
  static std::string Render(NvmlGpuSource* source) {
    Registry r;
    AddGpuMetrics(&r, {[source] { return source->Read(); }});
    return r.RenderText();
  }

  FakeNvml fake_;
  std::vector<std::string> logs_;
};

TEST_F(NvmlGpuSourceTest, LibraryMissingSaysWhichAndWhy) {
  NvmlGpuSource::Options o;
  o.library = "/nonexistent/libnvidia-ml.so.1";
  auto s = NvmlGpuSource::Create(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(s.status().message()),
            "cannot load NVML (/nonexistent/libnvidia-ml.so.1): /nonexistent/libnvidia-ml.so.1: "
            "cannot open shared object file: No such file or directory (no NVIDIA driver on this "
            "machine?)");
}

TEST_F(NvmlGpuSourceTest, LibraryWithoutNvmlSymbolsIsRefused) {
  NvmlGpuSource::Options o;
  o.library = "libm.so.6";
  auto s = NvmlGpuSource::Create(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.status().message()), "NVML library libm.so.6 has no symbol nvmlInit_v2");
}

TEST_F(NvmlGpuSourceTest, InitFailureIsUnavailableAndNamesNvmlsError) {
  fake_.set_init_result(9);
  auto s = Create();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(s.status().message()),
            "nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)");
  EXPECT_EQ(fake_.shutdown_calls(), 0);  // not initialised: nothing to shut down
}

TEST_F(NvmlGpuSourceTest, NoDeviceIsNotFoundAndShutsNvmlDown) {
  auto s = Create();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(s.status().message()), "NVML reports no GPU (nvmlDeviceGetCount_v2 = 0)");
  EXPECT_EQ(fake_.init_calls(), 1);
  EXPECT_EQ(fake_.shutdown_calls(), 1);
}

TEST_F(NvmlGpuSourceTest, NormalValuesInTheExpositionText) {
  fake_.add_device("GPU-0a1b2c3d-0000-1111-2222-333344445555", 37, 1073741824ull, 85899345920ull);
  fake_.add_device("GPU-ffffffff-0000-1111-2222-333344445555", 100, 0, 85899345920ull);
  auto s = Create();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->device_count(), 2u);
  EXPECT_EQ(
      Render(s->get()),
      "# HELP tide_gpu_utilization_ratio Share of the last sample period in which the GPU "
      "was busy (0..1).\n"
      "# TYPE tide_gpu_utilization_ratio gauge\n"
      "tide_gpu_utilization_ratio{gpu=\"0\",uuid=\"GPU-0a1b2c3d-0000-1111-2222-333344445555\"}"
      " 0.37\n"
      "tide_gpu_utilization_ratio{gpu=\"1\",uuid=\"GPU-ffffffff-0000-1111-2222-333344445555\"}"
      " 1\n"
      "# HELP tide_gpu_memory_used_bytes GPU memory in use in bytes.\n"
      "# TYPE tide_gpu_memory_used_bytes gauge\n"
      "tide_gpu_memory_used_bytes{gpu=\"0\",uuid=\"GPU-0a1b2c3d-0000-1111-2222-333344445555\"}"
      " 1073741824\n"
      "tide_gpu_memory_used_bytes{gpu=\"1\",uuid=\"GPU-ffffffff-0000-1111-2222-333344445555\"}"
      " 0\n"
      "# HELP tide_gpu_memory_total_bytes GPU memory in all in bytes.\n"
      "# TYPE tide_gpu_memory_total_bytes gauge\n"
      "tide_gpu_memory_total_bytes{gpu=\"0\",uuid=\"GPU-0a1b2c3d-0000-1111-2222-333344445555\"}"
      " 85899345920\n"
      "tide_gpu_memory_total_bytes{gpu=\"1\",uuid=\"GPU-ffffffff-0000-1111-2222-333344445555\"}"
      " 85899345920\n");
  // Sampled at each read: a new value shows at the next scrape.
  fake_.set_utilization(0, 5);
  auto readings = (*s)->Read();
  ASSERT_EQ(readings.size(), 2u);
  EXPECT_EQ(*readings[0].utilization, 0.05);
  EXPECT_TRUE(logs_.empty());
  s->reset();
  EXPECT_EQ(fake_.shutdown_calls(), 1);
}

TEST_F(NvmlGpuSourceTest, AFailingCallLeavesThatGpusMetricOutAndIsLoggedOnce) {
  fake_.add_device("GPU-a", 50, 10, 100);
  fake_.add_device("GPU-b", 60, 20, 100);
  auto s = Create();
  ASSERT_TRUE(s.ok()) << s.status();
  fake_.fail(1, "utilization", 999);  // NVML_ERROR_UNKNOWN
  const std::string expected =
      "# HELP tide_gpu_utilization_ratio Share of the last sample period in which the GPU was "
      "busy (0..1).\n"
      "# TYPE tide_gpu_utilization_ratio gauge\n"
      "tide_gpu_utilization_ratio{gpu=\"0\",uuid=\"GPU-a\"} 0.5\n"
      "# HELP tide_gpu_memory_used_bytes GPU memory in use in bytes.\n"
      "# TYPE tide_gpu_memory_used_bytes gauge\n"
      "tide_gpu_memory_used_bytes{gpu=\"0\",uuid=\"GPU-a\"} 10\n"
      "tide_gpu_memory_used_bytes{gpu=\"1\",uuid=\"GPU-b\"} 20\n"
      "# HELP tide_gpu_memory_total_bytes GPU memory in all in bytes.\n"
      "# TYPE tide_gpu_memory_total_bytes gauge\n"
      "tide_gpu_memory_total_bytes{gpu=\"0\",uuid=\"GPU-a\"} 100\n"
      "tide_gpu_memory_total_bytes{gpu=\"1\",uuid=\"GPU-b\"} 100\n";
  EXPECT_EQ(Render(s->get()), expected);
  EXPECT_EQ(Render(s->get()), expected);
  ASSERT_EQ(logs_.size(), 1u);
  EXPECT_EQ(logs_[0],
            "GPU 1: nvmlDeviceGetUtilizationRates failed: Unknown Error (NVML error 999); that "
            "metric is left out while it fails (logged once)");
  // It recovers; a different failure is logged once too.
  fake_.fail(1, "utilization", 0);
  fake_.fail(0, "memory", 999);
  auto r = (*s)->Read();
  EXPECT_EQ(*r[1].utilization, 0.6);
  EXPECT_FALSE(r[0].memory_used_bytes.has_value());
  EXPECT_FALSE(r[0].memory_total_bytes.has_value());
  (*s)->Read();
  ASSERT_EQ(logs_.size(), 2u);
  EXPECT_EQ(logs_[1],
            "GPU 0: nvmlDeviceGetMemoryInfo failed: Unknown Error (NVML error 999); that metric "
            "is left out while it fails (logged once)");
}

TEST_F(NvmlGpuSourceTest, AGpuWhoseUuidCannotBeReadIsLeftOutAtStart) {
  fake_.add_device("GPU-a", 50, 10, 100);
  fake_.add_device("GPU-b", 60, 20, 100);
  fake_.fail(0, "uuid", 999);
  auto s = Create();
  ASSERT_TRUE(s.ok()) << s.status();
  auto r = (*s)->Read();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].gpu, "1");
  EXPECT_EQ(r[0].uuid, "GPU-b");
  ASSERT_EQ(logs_.size(), 1u);
  EXPECT_EQ(logs_[0],
            "GPU 0: nvmlDeviceGetUUID failed: Unknown Error (NVML error 999); its metrics are left "
            "out");
}

TEST(GpuMetrics, NoReadingsExportNothingAndSimulatedDevicesAreLabelled) {
  Registry r;
  AddGpuMetrics(&r, {[] { return std::vector<GpuReading>{}; }});
  EXPECT_EQ(r.RenderText(), "");
  Registry s;
  AddGpuMetrics(&s, {[] {
    GpuReading g;
    g.gpu = "0";
    g.uuid = "SIM-m-1-0";
    g.simulated = true;
    g.utilization = 0.25;
    return std::vector<GpuReading>{g};
  }});
  EXPECT_EQ(s.RenderText(),
            "# HELP tide_gpu_utilization_ratio Share of the last sample period in which the GPU "
            "was busy (0..1).\n"
            "# TYPE tide_gpu_utilization_ratio gauge\n"
            "tide_gpu_utilization_ratio{gpu=\"0\",uuid=\"SIM-m-1-0\",simulated=\"true\"} 0.25\n");
}

}  // namespace
}  // namespace tide::metrics
