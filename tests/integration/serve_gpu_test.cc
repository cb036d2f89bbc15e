// tide serve's GPU metrics, end to end: NVML through a fake libnvidia-ml
// (--nvml-library; its devices set by FAKE_NVML_DEVICES in the server's
// environment) beside the simulated backend's mode gpu (examples/gpu), and a
// machine where NVML cannot be loaded.

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

const std::string kGpuExamples = std::string(TIDE_SOURCE_DIR) + "/examples/gpu";

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(ServeGpu, NvmlAndSimulatedGpusExportTheSameNames) {
  setenv("FAKE_NVML_DEVICES", "GPU-11111111-2222-3333-4444-555555555555:42:2147483648:85899345920",
         1);
  TideProcess server({"serve", "--model-repository", kGpuExamples, "--nvml-library",
                      FAKE_NVML_LIBRARY, "--http-port", "0", "--metrics-port", "0", "--grpc-port",
                      "-1", "--host", "127.0.0.1"});
  unsetenv("FAKE_NVML_DEVICES");
  ASSERT_TRUE(server.started()) << server.Log();
  const std::string m = Http(server.metrics_port(), "GET", "/metrics").body;
  const std::string real = "{gpu=\"0\",uuid=\"GPU-11111111-2222-3333-4444-555555555555\"}";
  EXPECT_TRUE(Has(m, "tide_gpu_utilization_ratio" + real + " 0.42")) << m;
  EXPECT_TRUE(Has(m, "tide_gpu_memory_used_bytes" + real + " 2147483648")) << m;
  EXPECT_TRUE(Has(m, "tide_gpu_memory_total_bytes" + real + " 85899345920")) << m;
  // examples/gpu/simulated_gpu: 2 instances, memory_mb 64 of gpu_memory_mb 16384.
  for (const char* i : {"0", "1"}) {
    const std::string sim = std::string("{gpu=\"") + i + "\",uuid=\"SIM-simulated_gpu-1-" + i +
                            "\",simulated=\"true\"}";
    EXPECT_TRUE(Has(m, "tide_gpu_memory_used_bytes" + sim + " 67108864")) << m;
    EXPECT_TRUE(Has(m, "tide_gpu_memory_total_bytes" + sim + " 17179869184")) << m;
  }
  // One family each, NVML's and the simulated devices' series together.
  EXPECT_EQ(m.find("# TYPE tide_gpu_utilization_ratio gauge"),
            m.rfind("# TYPE tide_gpu_utilization_ratio gauge"));
  // The warm-up's batches occupied the simulated GPUs; a second after them
  // both are idle, and then one request occupies one for 20 ms + 5 ms per row.
  auto busy = [&] {
    const std::string text = Http(server.metrics_port(), "GET", "/metrics").body;
    return MetricValue(text, R"(tide_gpu_utilization_ratio{gpu="0",uuid="SIM-simulated_gpu-1-0",)"
                             R"(simulated="true"})") +
           MetricValue(text, R"(tide_gpu_utilization_ratio{gpu="1",uuid="SIM-simulated_gpu-1-1",)"
                             R"(simulated="true"})");
  };
  for (int i = 0; i < 300 && busy() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(busy(), 0);
  HttpResult r = Http(server.http_port(), "POST", "/v2/models/simulated_gpu/infer",
                      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],)"
                      R"("data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const double after = busy();
  EXPECT_GE(after, 0.025);  // 25 ms of the last second
  EXPECT_LE(after, 0.05);   // (unless the scrape came more than 0.5 s later)
  EXPECT_NE(server.Log().find("GPU metrics: 1 GPU(s) through NVML"), std::string::npos)
      << server.Log();
}

TEST(ServeGpu, WithoutNvmlTheMetricsAreAbsentAndTheLogSaysWhyOnce) {
  TempDir repo;
  repo.Write("cpu/config.pbtxt", SimulatedModel("cpu", 1, 1, 4));
  repo.MakeDir("cpu/1");
  TideProcess server({"serve", "--model-repository", repo.path(), "--nvml-library",
                      "/nonexistent/libnvidia-ml.so.1", "--http-port", "0", "--metrics-port", "0",
                      "--grpc-port", "-1", "--host", "127.0.0.1"});
  ASSERT_TRUE(server.started()) << server.Log();
  const std::string m = Http(server.metrics_port(), "GET", "/metrics").body;
  Http(server.metrics_port(), "GET", "/metrics");
  EXPECT_EQ(m.find("tide_gpu_"), std::string::npos) << m;
  const std::string log = server.Log();
  const std::string why =
      "GPU metrics: none from NVML: cannot load NVML (/nonexistent/libnvidia-ml.so.1): "
      "/nonexistent/libnvidia-ml.so.1: cannot open shared object file: No such file or directory";
  ASSERT_NE(log.find(why), std::string::npos) << log;
  EXPECT_EQ(log.find(why), log.rfind(why)) << log;
}

}  // namespace
}  // namespace tide::testing
