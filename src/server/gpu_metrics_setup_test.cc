#include "server/gpu_metrics_setup.h"

#include "backends/simulated/simulated_backend.h"
#include "gtest/gtest.h"

namespace tide::server {
namespace {

std::shared_ptr<core::LoadedModel> Load(const std::string& name, const std::string& mode,
                                        int instances) {
  auto spec = core::ParseModelConfig(
      "backend: \"simulated\" max_batch_size: 8 "
      "input { name: \"I\" data_type: TYPE_INT32 dims: [ 1 ] }"
      "output { name: \"O\" data_type: TYPE_INT32 dims: [ 1 ] } "
      "instance_group [ { count: " +
          std::to_string(instances) +
          " kind: KIND_CPU } ] "
          "parameters { key: \"mode\" value { string_value: \"" +
          mode +
          "\" } } parameters { key: \"memory_mb\" value { string_value: \"2\" } } "
          "parameters { key: \"gpu_memory_mb\" value { string_value: \"1024\" } }",
      name + "/config.pbtxt", name);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto lm = std::make_shared<core::LoadedModel>();
  lm->spec = *spec;
  lm->version = 3;
  auto model = backends::LoadSimulatedModel(backends::LoadContext{&lm->spec});
  EXPECT_TRUE(model.ok()) << model.status();
  for (int i = 0; i < instances; ++i) EXPECT_TRUE((*model)->CreateInstance(i).ok());
  lm->keepalive = std::shared_ptr<backends::Model>(*std::move(model));
  return lm;
}

TEST(SimulatedGpuReadings, OneDevicePerInstanceOfModelsInModeGpuNumberedAcross) {
  auto readings =
      SimulatedGpuReadings({Load("a", "gpu", 2), Load("cpu_model", "cpu", 3), Load("b", "gpu", 1)},
                           absl::Now() + absl::Seconds(5));
  ASSERT_EQ(readings.size(), 3u);
  const char* want[][2] = {{"0", "SIM-a-3-0"}, {"1", "SIM-a-3-1"}, {"2", "SIM-b-3-0"}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(readings[i].gpu, want[i][0]);
    EXPECT_EQ(readings[i].uuid, want[i][1]);
    EXPECT_TRUE(readings[i].simulated);
    EXPECT_EQ(*readings[i].utilization, 0);  // idle
    EXPECT_EQ(*readings[i].memory_used_bytes, 2 * 1048576);
    EXPECT_EQ(*readings[i].memory_total_bytes, 1024.0 * 1048576);
  }
}

TEST(AddServeGpuMetrics, WithoutNvmlOrAGpuModelNothingIsExported) {
  core::InferenceService service({});
  metrics::Registry r;
  AddServeGpuMetrics(&r, &service, "/nonexistent/libnvidia-ml.so.1");
  EXPECT_EQ(r.RenderText(), "");
  service.Shutdown();
}

}  // namespace
}  // namespace tide::server
