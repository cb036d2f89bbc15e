// The simulated backend's mode gpu: a simulated GPU per instance whose busy
// fraction is the share of the last gpu_window_ms that batches occupied it.

#include <thread>
#include <utility>
#include <vector>

#include "backends/simulated/simulated_backend.h"
#include "gtest/gtest.h"

namespace tide::backends {
namespace {

std::string P(const std::string& k, const std::string& v) {
  return "parameters { key: \"" + k + "\" value { string_value: \"" + v + "\" } } ";
}

core::ModelSpec GpuSpec(const std::string& params) {
  auto spec = core::ParseModelConfig(
      "backend: \"simulated\" max_batch_size: 8 "
      "input { name: \"I\" data_type: TYPE_INT32 dims: [ 1 ] }"
      "output { name: \"O\" data_type: TYPE_INT32 dims: [ 1 ] } "
      "instance_group [ { count: 2 kind: KIND_CPU } ] " +
          P("mode", "gpu") + params,
      "m/config.pbtxt", "m");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

using Timeline = std::vector<std::pair<absl::Time, absl::Time>>;

// Runs `batches` one-row batches on `inst`, idling `gap` after each, and
// returns when each batch started and ended as the caller saw it.
Timeline Drive(core::ModelInstance* inst, int batches, absl::Duration gap) {
  core::InferRequest r;
  r.inputs = {core::Tensor{"I", core::DataType::kInt32, {1, 1}, std::string(4, '\0')}};
  Timeline t;
  for (int i = 0; i < batches; ++i) {
    absl::Time a = absl::Now();
    inst->Execute({&r}, nullptr);
    t.emplace_back(a, absl::Now());
    absl::SleepFor(gap);
  }
  return t;
}

// The busy share of [now - window, now] from a timeline.
double BusyFraction(const Timeline& t, absl::Time now, absl::Duration window) {
  absl::Duration busy;
  for (auto [a, b] : t) {
    a = std::max(a, now - window);
    b = std::min(b, now);
    if (b > a) busy += b - a;
  }
  return absl::FDivDuration(busy, window);
}

TEST(SimulatedGpu, UtilizationIsTheBusyFractionOfTheBatchTimeline) {
  core::ModelSpec spec = GpuSpec(P("compute_ms", "100") + P("gpu_window_ms", "1000") +
                                 P("memory_mb", "1") + P("gpu_memory_mb", "80"));
  auto params = ParseSimulatedParams(spec);
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->mode, SimulatedParams::Mode::kGpu);
  auto model = LoadSimulatedModel(LoadContext{&spec});
  ASSERT_TRUE(model.ok()) << model.status();
  auto i0 = (*model)->CreateInstance(0);
  auto i1 = (*model)->CreateInstance(1);
  ASSERT_TRUE(i0.ok() && i1.ok());
  EXPECT_EQ((*model)->Describe(), "simulated: 100 ms + 0 ms/row, gpu (2 simulated GPU(s))");
  // Device 0: 100 ms batches every ~150 ms (~2/3 busy); device 1: every
  // ~400 ms (~1/4 busy), at the same time on another thread, for ~1.5 s.
  // (Batches of 100 ms: a scheduling delay of a millisecond around a batch,
  // as on a loaded machine, moves the share by 0.1 %, not the 2 % allowed.)
  Timeline t1;
  std::thread other([&] { t1 = Drive(i1->get(), 4, absl::Milliseconds(300)); });
  Timeline t0 = Drive(i0->get(), 10, absl::Milliseconds(50));
  other.join();
  absl::Time now = absl::Now();
  std::vector<Model::DeviceUsage> d = (*model)->Devices(now);
  ASSERT_EQ(d.size(), 2u);
  const double want0 = BusyFraction(t0, now, absl::Seconds(1));
  const double want1 = BusyFraction(t1, now, absl::Seconds(1));
  EXPECT_EQ(d[0].instance, 0);
  EXPECT_EQ(d[1].instance, 1);
  EXPECT_NEAR(d[0].utilization, want0, 0.02);
  EXPECT_NEAR(d[1].utilization, want1, 0.02);
  // Not vacuous: the two devices were busy for clearly different shares.
  EXPECT_GT(want0, 0.3);
  EXPECT_GT(want0 - want1, 0.2);
  EXPECT_EQ(d[0].memory_used_bytes, 1048576);
  EXPECT_EQ(d[0].memory_total_bytes, 83886080);
  // Idle for a whole window: 0.
  std::vector<Model::DeviceUsage> later = (*model)->Devices(now + absl::Seconds(2));
  EXPECT_EQ(later[0].utilization, 0);
  EXPECT_EQ(later[1].utilization, 0);
}

TEST(SimulatedGpu, OtherModesHaveNoDevice) {
  auto spec = core::ParseModelConfig(
      "backend: \"simulated\" input { name: \"I\" data_type: TYPE_INT32 dims: [ 1 ] }"
      "output { name: \"O\" data_type: TYPE_INT32 dims: [ 1 ] } " +
          P("mode", "sleep"),
      "m/config.pbtxt", "m");
  ASSERT_TRUE(spec.ok());
  auto model = LoadSimulatedModel(LoadContext{&*spec});
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE((*model)->CreateInstance(0).ok());
  EXPECT_TRUE((*model)->Devices(absl::Now()).empty());
}

TEST(SimulatedGpu, BadGpuParametersAreNamed) {
  struct Case {
    std::string params, error;
  } cases[] = {
      {P("gpu_window_ms", "5"),
       "m/config.pbtxt: parameters 'gpu_window_ms' = '5': must be a number from 10 to 60000"},
      {P("gpu_window_ms", "1e9"),
       "m/config.pbtxt: parameters 'gpu_window_ms' = '1e9': must be a number from 10 to 60000"},
      {P("gpu_memory_mb", "-1"),
       "m/config.pbtxt: parameters 'gpu_memory_mb' = '-1': must be a number >= 0"},
      {P("memory_mb", "100") + P("gpu_memory_mb", "50"),
       "m/config.pbtxt: parameters 'memory_mb' = '100' does not fit the simulated GPU's "
       "gpu_memory_mb = '50'"},
  };
  for (const Case& c : cases) {
    auto p = ParseSimulatedParams(GpuSpec(c.params));
    ASSERT_FALSE(p.ok()) << c.params;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(p.status().message()), c.error);
  }
}

}  // namespace
}  // namespace tide::backends
