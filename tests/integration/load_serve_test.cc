// tide load against the real tide serve: every request is answered and
// counted exactly once on both sides, JSON and binary tensors alike.

#include <fstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

TEST(LoadAgainstServe, EveryRequestCountedOnceOnBothSides) {
  TideProcess server({"serve", "--model-repository",
                      std::string(TIDE_SOURCE_DIR) + "/examples/models", "--http-port", "0",
                      "--grpc-port", "-1", "--metrics-port", "0", "--host", "127.0.0.1"});
  ASSERT_TRUE(server.started()) << server.Log();
  const std::string ok_metric =
      R"(tide_inference_requests_total{model="simple",version="1",outcome="success"})";
  TempDir out;
  double served = 0;
  for (const char* mode : {"json", "binary"}) {
    SCOPED_TRACE(mode);
    double before = MetricValue(Http(server.metrics_port(), "GET", "/metrics").body, ok_metric);
    std::string json_path = out.path() + "/" + mode + ".json";
    std::vector<std::string> args = {
        "load",
        "--url",
        "http://127.0.0.1:" + std::to_string(server.http_port()),
        "--metrics-url",
        "http://127.0.0.1:" + std::to_string(server.metrics_port()) + "/metrics",
        "--model",
        "simple",
        "--concurrency",
        "4",
        "--requests",
        "300",
        "--input-data",
        "random",
        "--json",
        json_path};
    if (std::string(mode) == "binary") args.push_back("--binary");
    TideProcess load(args, /*wait_listening=*/false);
    ASSERT_EQ(load.Wait(60), 0) << load.Log();
    std::ifstream in(json_path);
    nlohmann::json report = nlohmann::json::parse(in);
    const auto& level = report["levels"][0];
    EXPECT_EQ(level["sent"], 300);
    EXPECT_EQ(level["ok"], 300);
    EXPECT_EQ(level["failed"], 0);
    EXPECT_EQ(level["latency"]["count"], 300);
    EXPECT_EQ(level["server"]["success"], 300.0);
    EXPECT_EQ(level["server"]["rejected"], 0.0);
    double after = MetricValue(Http(server.metrics_port(), "GET", "/metrics").body, ok_metric);
    EXPECT_EQ(after - before, 300);
    served += after - before;
  }
  EXPECT_EQ(served, 600);
}

}  // namespace
}  // namespace tide::testing
