// tide load --protocol grpc against the real tide serve: every request is
// answered and counted exactly once on both sides (typed and raw contents),
// and requests the server refuses are counted as errors under their gRPC
// status code.

#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "grpc_service.pb.h"
#include "gtest/gtest.h"
#include "loadgen/engine.h"
#include "nlohmann/json.hpp"
#include "support/grpc_echo.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

class LoadGrpc : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.Write("sim/config.pbtxt", SimulatedModel("sim", 0, 1, 64));
    repo_.MakeDir("sim/1");
    repo_.Write("slow/config.pbtxt", SimulatedModel("slow", 3000, 1, 64));
    repo_.MakeDir("slow/1");
    server_ = std::make_unique<TideProcess>(std::vector<std::string>{
        "serve", "--model-repository", repo_.path(), "--http-port", "0", "--grpc-port", "0",
        "--metrics-port", "0", "--host", "127.0.0.1", "--drain-delay", "0"});
    ASSERT_TRUE(server_->started()) << server_->Log();
    ASSERT_GT(server_->grpc_port(), 0);
  }
  double Served() {
    return MetricValue(
        Http(server_->metrics_port(), "GET", "/metrics").body,
        R"(tide_inference_requests_total{model="sim",version="1",outcome="success"})");
  }
  // The engine's options for `concurrency` calls in flight to `model`, each
  // a one-element FP32 INPUT0 (typed contents).
  loadgen::EngineOptions GrpcOptions(const std::string& model, int concurrency) const {
    inference::ModelInferRequest req = EchoRequest(model, 1);
    loadgen::EngineOptions o;
    o.target = loadgen::Url{"127.0.0.1", static_cast<uint16_t>(server_->grpc_port()), "/"};
    o.protocol = loadgen::EngineProtocol::kGrpc;
    o.requests = {req.SerializeAsString()};
    o.concurrency = concurrency;
    return o;
  }
  std::string GrpcUrl() const { return "127.0.0.1:" + std::to_string(server_->grpc_port()); }
  std::string MetricsUrl() const {
    return "http://127.0.0.1:" + std::to_string(server_->metrics_port()) + "/metrics";
  }

  TempDir repo_;
  TempDir out_;
  std::unique_ptr<TideProcess> server_;
};

TEST_F(LoadGrpc, EveryRequestCountedOnceOnBothSidesTypedAndRaw) {
  for (const char* contents : {"typed", "raw"}) {
    SCOPED_TRACE(contents);
    const double before = Served();
    const std::string json_path = out_.path() + "/" + contents + ".json";
    CliResult r = RunTideCli("load --protocol grpc --grpc-contents " + std::string(contents) +
                             " --url grpc://" + GrpcUrl() + " --metrics-url " + MetricsUrl() +
                             " --model sim --concurrency 4 --requests 300 --input-data random" +
                             " --json " + json_path);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("(gRPC, " + std::string(contents) + " contents)"), std::string::npos)
        << r.out;
    std::ifstream in(json_path);
    nlohmann::json report = nlohmann::json::parse(in);
    EXPECT_EQ(report["config"]["protocol"], "grpc");
    EXPECT_EQ(report["config"]["grpc_contents"], contents);
    const auto& level = report["levels"][0];
    EXPECT_EQ(level["sent"], 300);
    EXPECT_EQ(level["ok"], 300);
    EXPECT_EQ(level["failed"], 0);
    EXPECT_EQ(level["latency"]["count"], 300);
    EXPECT_EQ(level["server"]["success"], 300.0);
    EXPECT_EQ(Served() - before, 300);
  }
}

TEST_F(LoadGrpc, OpenLoopSendsTheScheduleExactly) {
  const double before = Served();
  const std::string json_path = out_.path() + "/rate.json";
  CliResult r =
      RunTideCli("load --protocol grpc --url " + GrpcUrl() + " --metrics-url none" +
                 " --model sim --rate 200 --arrivals constant --duration 2 --json " + json_path);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(json_path);
  nlohmann::json report = nlohmann::json::parse(in);
  const auto& level = report["levels"][0];
  EXPECT_EQ(level["scheduled"], 400);
  EXPECT_EQ(level["sent"], 400);
  EXPECT_EQ(level["ok"], 400);
  EXPECT_EQ(level["failed"], 0);
  EXPECT_EQ(Served() - before, 400);
}

TEST_F(LoadGrpc, UnknownModelIsRefusedBeforeTheRunNamingTheCode) {
  CliResult r = RunTideCli("load --protocol grpc --url " + GrpcUrl() +
                           " --metrics-url none --model nope --requests 10");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("NOT_FOUND"), std::string::npos) << r.out;
}

// The engine itself: requests for a model the server does not have are each
// an error under the gRPC code, with the code in the request record.
TEST_F(LoadGrpc, RefusedCallsAreCountedAsErrorsByStatusCode) {
  loadgen::EngineOptions o = GrpcOptions("nope", 3);
  o.max_requests = 50;
  o.duration = absl::InfiniteDuration();
  o.record_requests = true;
  auto engine = loadgen::LoadEngine::Create(std::move(o));
  ASSERT_TRUE(engine.ok()) << engine.status();
  loadgen::EngineResult result = (*engine)->Run();
  EXPECT_EQ(result.sent, 50u);
  EXPECT_EQ(result.ok, 0u);
  EXPECT_EQ(result.failed, 50u);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors.begin()->first, "grpc_NOT_FOUND");
  EXPECT_EQ(result.errors.begin()->second, 50u);
  ASSERT_EQ(result.records.size(), 50u);
  EXPECT_EQ(result.records[0].status, 5);  // grpc::StatusCode::NOT_FOUND
  EXPECT_EQ(Served(), 0);
}

// A call that outlives --timeout is a "timeout" error, and is cancelled: the
// run ends when the timeout fires, not when the server would have answered.
TEST_F(LoadGrpc, CallsPastTheTimeoutAreCancelledAndCountedAsTimeouts) {
  loadgen::EngineOptions o = GrpcOptions("slow", 2);
  o.max_requests = 2;
  o.duration = absl::InfiniteDuration();
  o.timeout = absl::Milliseconds(300);
  auto engine = loadgen::LoadEngine::Create(std::move(o));
  ASSERT_TRUE(engine.ok()) << engine.status();
  loadgen::EngineResult result = (*engine)->Run();
  EXPECT_EQ(result.sent, 2u);
  EXPECT_EQ(result.ok, 0u);
  EXPECT_EQ(result.failed, 2u);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors.begin()->first, "timeout");
  EXPECT_EQ(result.errors.begin()->second, 2u);
  EXPECT_LT(result.wall_s, 2.5);  // the model takes 3 s a request
}

// The server dies mid-run (SIGKILL): the run still ends on time, every call
// sent is counted once, as answered or as an error naming the failure, and
// the client's completion queue drains (Run returns).
TEST_F(LoadGrpc, ServerKilledMidRunEndsTheRunWithUnavailableErrors) {
  loadgen::EngineOptions o = GrpcOptions("sim", 4);
  o.duration = absl::Seconds(2);
  auto engine = loadgen::LoadEngine::Create(std::move(o));
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    server_->Signal(SIGKILL);
  });
  loadgen::EngineResult result = (*engine)->Run();
  killer.join();
  EXPECT_GT(result.ok, 0u);
  EXPECT_GT(result.failed, 0u);
  EXPECT_EQ(result.sent, result.ok + result.failed + result.abandoned);
  uint64_t counted = 0;
  for (const auto& [cause, n] : result.errors) {
    EXPECT_TRUE(cause == "connect_unavailable" || cause == "grpc_UNAVAILABLE") << cause;
    counted += n;
  }
  EXPECT_EQ(counted, result.failed);
  EXPECT_LT(result.wall_s, 4.0);
}

}  // namespace
}  // namespace tide::testing
