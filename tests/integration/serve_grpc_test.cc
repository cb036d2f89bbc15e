// The V2 gRPC API of the real `tide serve`, through a generated gRPC client.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "grpc_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "health.grpc.pb.h"
#include "support/grpc_echo.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

class ServeGrpc : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TideProcess>(std::vector<std::string>{
        "serve", "--model-repository", std::string(TIDE_SOURCE_DIR) + "/examples/models",
        "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0", "--host", "127.0.0.1",
        "--drain-delay", "0"});
    ASSERT_TRUE(server_->started()) << server_->Log();
    int port = server_->grpc_port();
    ASSERT_GT(port, 0);
    stub_ = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<TideProcess> server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(ServeGrpc, HealthMetadataAndInfer) {
  {
    grpc::ClientContext ctx;
    inference::ServerReadyResponse r;
    ASSERT_TRUE(stub_->ServerReady(&ctx, {}, &r).ok());
    EXPECT_TRUE(r.ready());
  }
  {
    grpc::ClientContext ctx;
    inference::ModelMetadataRequest req;
    req.set_name("simple");
    inference::ModelMetadataResponse r;
    ASSERT_TRUE(stub_->ModelMetadata(&ctx, req, &r).ok());
    EXPECT_EQ(r.name(), "simple");
    ASSERT_EQ(r.inputs_size(), 2);
    EXPECT_EQ(r.inputs(0).datatype(), "INT32");
    EXPECT_EQ(r.inputs(0).shape_size(), 2);
    EXPECT_EQ(r.inputs(0).shape(0), -1);
  }
  inference::ModelInferRequest req;
  req.set_model_name("simple");
  req.set_id("g1");
  std::vector<int32_t> a(16), b(16);
  for (int i = 0; i < 16; ++i) {
    a[i] = i;
    b[i] = 2 * i + 1;
  }
  for (const char* name : {"INPUT0", "INPUT1"}) {
    auto* in = req.add_inputs();
    in->set_name(name);
    in->set_datatype("INT32");
    in->add_shape(1);
    in->add_shape(16);
  }
  for (int i = 0; i < 16; ++i) req.mutable_inputs(0)->mutable_contents()->add_int_contents(a[i]);
  for (int i = 0; i < 16; ++i) req.mutable_inputs(1)->mutable_contents()->add_int_contents(b[i]);
  grpc::ClientContext ctx;
  inference::ModelInferResponse resp;
  grpc::Status s = stub_->ModelInfer(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.id(), "g1");
  EXPECT_EQ(resp.model_version(), "1");
  ASSERT_EQ(resp.raw_output_contents_size(), 2);
  std::vector<int32_t> sum(16), diff(16);
  std::memcpy(sum.data(), resp.raw_output_contents(0).data(), 64);
  std::memcpy(diff.data(), resp.raw_output_contents(1).data(), 64);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(sum[i], a[i] + b[i]);
    EXPECT_EQ(diff[i], a[i] - b[i]);
  }
}

TEST_F(ServeGrpc, ErrorsMapToGrpcCodes) {
  inference::ModelInferRequest req;
  req.set_model_name("nope");
  grpc::ClientContext c1;
  inference::ModelInferResponse resp;
  grpc::Status s = stub_->ModelInfer(&c1, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "unknown model 'nope'");
  req.set_model_name("simple");
  auto* in = req.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("INT32");
  in->add_shape(1);
  in->add_shape(16);
  in->mutable_contents()->add_int_contents(1);
  grpc::ClientContext c2;
  s = stub_->ModelInfer(&c2, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "input 'INPUT0': shape [1,16] needs 16 elements, contents has 1");
}

// A model that sleeps 2 s per request, one request at a time, on one
// instance: requests sent while it is busy wait in its queue. 2 s, not
// 300 ms: the first request must still be executing when the test sees the
// cancelled one queued (in flight 3). At 300 ms there were ~170 ms of slack
// after the deadline request, and a test thread held up that long missed the
// moment for good (in flight 2, then 0; the 'cancelled' one ran): 5 runs of 5
// with 250 ms added before that wait, 0 of 5 at 2 s.
TEST(ServeGrpcDeadlines, RequestsWhoseClientHasGoneAreNotExecuted) {
  TempDir repo;
  repo.Write("slow/config.pbtxt",
             "name: \"slow\"\nbackend: \"simulated\"\nmax_batch_size: 0\n"
             "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
             "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
             "instance_group { count: 1 }\n"
             "dynamic_batching { default_queue_policy { max_queue_size: 8 } }\n"
             "parameters { key: \"mode\" value { string_value: \"sleep\" } }\n"
             "parameters { key: \"compute_ms\" value { string_value: \"2000\" } }\n");
  repo.MakeDir("slow/1");
  TideProcess server({"serve", "--model-repository", repo.path(), "--http-port", "0", "--grpc-port",
                      "0", "--metrics-port", "0", "--host", "127.0.0.1", "--drain-delay", "0"});
  ASSERT_TRUE(server.started()) << server.Log();
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.grpc_port()), grpc::InsecureChannelCredentials()));
  auto infer = [&](grpc::ClientContext* ctx) {
    inference::ModelInferRequest req;
    req.set_model_name("slow");
    auto* in = req.add_inputs();
    in->set_name("INPUT0");
    in->set_datatype("FP32");
    in->add_shape(1);
    in->mutable_contents()->add_fp32_contents(3);
    inference::ModelInferResponse resp;
    return stub->ModelInfer(ctx, req, &resp);
  };
  const std::string in_flight = R"(tide_inference_in_flight{model="slow",version="1"})";
  auto await_in_flight = [&](double n) {
    ASSERT_EQ(AwaitMetric(server.metrics_port(), in_flight, n, 5), n);
  };
  // Two requests without a deadline: one executing, one queued (4 s of work).
  std::atomic<int> ok{0};
  std::vector<std::thread> long_ones;
  for (int i = 0; i < 2; ++i) {
    long_ones.emplace_back([&] {
      grpc::ClientContext ctx;
      if (infer(&ctx).ok()) ++ok;
    });
  }
  await_in_flight(2);
  {  // A 100 ms deadline behind them: answered at its deadline, never run.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    grpc::Status s = infer(&ctx);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  }
  await_in_flight(2);  // the server answered it too, before the queue reached it
  // A request its client cancels while it is queued: dropped, never run.
  grpc::ClientContext cancelled_ctx;
  grpc::Status cancelled;
  std::thread cancelled_client([&] { cancelled = infer(&cancelled_ctx); });
  await_in_flight(3);
  cancelled_ctx.TryCancel();
  cancelled_client.join();
  EXPECT_EQ(cancelled.error_code(), grpc::StatusCode::CANCELLED);
  for (std::thread& t : long_ones) t.join();
  EXPECT_EQ(ok.load(), 2);
  await_in_flight(0);
  std::string metrics = Http(server.metrics_port(), "GET", "/metrics").body;
  EXPECT_EQ(MetricValue(metrics, R"(tide_inference_executions_total{model="slow",version="1"})"),
            2);
  EXPECT_EQ(
      MetricValue(metrics,
                  R"(tide_inference_requests_total{model="slow",version="1",outcome="success"})"),
      2);
  EXPECT_EQ(
      MetricValue(
          metrics,
          R"(tide_inference_failures_total{model="slow",version="1",reason="deadline_exceeded"})"),
      1);
  EXPECT_EQ(
      MetricValue(metrics,
                  R"(tide_inference_failures_total{model="slow",version="1",reason="cancelled"})"),
      1);
  EXPECT_EQ(MetricValue(metrics, R"(tide_inference_queue_depth{model="slow",version="1"})"), 0);
  std::string stats = Http(server.http_port(), "GET", "/v2/models/slow/stats").body;
  EXPECT_NE(stats.find(R"("inference_count":2,"execution_count":2,)"), std::string::npos) << stats;
}

TEST_F(ServeGrpc, ServerMetadataListsEveryExtension) {
  grpc::ClientContext ctx;
  inference::ServerMetadataResponse r;
  ASSERT_TRUE(stub_->ServerMetadata(&ctx, {}, &r).ok());
  EXPECT_EQ(r.name(), "tide");
  EXPECT_EQ(std::vector<std::string>(r.extensions().begin(), r.extensions().end()),
            (std::vector<std::string>{"binary_tensor_data", "statistics", "model_repository",
                                      "model_configuration"}));
}

TEST_F(ServeGrpc, ModelConfigIsTheParsedConfigPbtxt) {
  grpc::ClientContext ctx;
  inference::ModelConfigRequest req;
  req.set_name("simple");
  inference::ModelConfigResponse r;
  grpc::Status s = stub_->ModelConfig(&ctx, req, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const tide::config::ModelConfig& c = r.config();
  EXPECT_EQ(c.name(), "simple");
  EXPECT_EQ(c.platform(), "pytorch_libtorch");
  EXPECT_EQ(c.backend(), "pytorch");
  EXPECT_EQ(c.max_batch_size(), 8);
  ASSERT_EQ(c.input_size(), 2);
  EXPECT_EQ(c.input(1).name(), "INPUT1");
  EXPECT_EQ(c.input(1).data_type(), tide::config::TYPE_INT32);
  ASSERT_EQ(c.input(1).dims_size(), 1);
  EXPECT_EQ(c.input(1).dims(0), 16);
  ASSERT_EQ(c.output_size(), 2);
  EXPECT_EQ(c.output(0).name(), "OUTPUT0");
  ASSERT_EQ(c.instance_group_size(), 1);
  EXPECT_EQ(c.instance_group(0).count(), 1);
  EXPECT_EQ(c.instance_group(0).kind(), tide::config::ModelInstanceGroup::KIND_CPU);
  EXPECT_EQ(c.parameters().at("INTRA_OP_THREAD_COUNT").string_value(), "1");

  grpc::ClientContext c2;
  req.set_name("nope");
  s = stub_->ModelConfig(&c2, req, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "unknown model 'nope'");
  grpc::ClientContext c3;
  req.set_name("simple");
  req.set_version("9");
  EXPECT_EQ(stub_->ModelConfig(&c3, req, &r).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServeGrpc, RepositoryIndexListsEveryModel) {
  grpc::ClientContext ctx;
  inference::RepositoryIndexRequest req;
  inference::RepositoryIndexResponse r;
  ASSERT_TRUE(stub_->RepositoryIndex(&ctx, req, &r).ok());
  std::vector<std::string> got;
  for (const auto& m : r.models()) {
    got.push_back(m.name() + "/" + m.version() + "/" + m.state() + "/" + m.reason());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"cnn/1/READY/", "mlp/1/READY/", "simple/1/READY/",
                                           "simulated/1/READY/"}));
  grpc::ClientContext c2;
  req.set_repository_name("other");
  grpc::Status s = stub_->RepositoryIndex(&c2, req, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "unknown repository 'other' (tide serves one repository)");
}

TEST_F(ServeGrpc, ModelStatisticsCountTheRequestsSent) {
  inference::ModelInferRequest req;
  req.set_model_name("simple");
  for (const char* name : {"INPUT0", "INPUT1"}) {
    auto* in = req.add_inputs();
    in->set_name(name);
    in->set_datatype("INT32");
    in->add_shape(1);
    in->add_shape(16);
    for (int i = 0; i < 16; ++i) in->mutable_contents()->add_int_contents(i);
  }
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    inference::ModelInferResponse resp;
    ASSERT_TRUE(stub_->ModelInfer(&ctx, req, &resp).ok());
  }
  grpc::ClientContext ctx;
  inference::ModelStatisticsRequest sreq;
  sreq.set_name("simple");
  inference::ModelStatisticsResponse r;
  grpc::Status s = stub_->ModelStatistics(&ctx, sreq, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(r.model_stats_size(), 1);
  const inference::ModelStatistics& m = r.model_stats(0);
  EXPECT_EQ(m.name(), "simple");
  EXPECT_EQ(m.version(), "1");
  EXPECT_EQ(m.inference_count(), 2u);
  EXPECT_EQ(m.execution_count(), 2u);
  EXPECT_GT(m.last_inference(), 0u);
  EXPECT_EQ(m.inference_stats().success().count(), 2u);
  EXPECT_EQ(m.inference_stats().fail().count(), 0u);
  EXPECT_EQ(m.inference_stats().queue().count(), 2u);
  EXPECT_EQ(m.inference_stats().compute_infer().count(), 2u);
  EXPECT_EQ(m.inference_stats().cache_hit().count(), 0u);
  ASSERT_EQ(m.batch_stats_size(), 1);
  EXPECT_EQ(m.batch_stats(0).batch_size(), 1u);
  EXPECT_EQ(m.batch_stats(0).compute_infer().count(), 2u);

  grpc::ClientContext c2;
  inference::ModelStatisticsResponse all;
  ASSERT_TRUE(stub_->ModelStatistics(&c2, {}, &all).ok());
  EXPECT_EQ(all.model_stats_size(), 4);
  grpc::ClientContext c3;
  sreq.set_name("nope");
  s = stub_->ModelStatistics(&c3, sreq, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "unknown model 'nope'");
}

TEST_F(ServeGrpc, StandardHealthServiceAnswersFromReadiness) {
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server_->grpc_port()), grpc::InsecureChannelCredentials()));
  for (const char* service : {"", "inference.GRPCInferenceService"}) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse r;
    grpc::Status s = health->Check(&ctx, req, &r);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(r.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("other");
  grpc::health::v1::HealthCheckResponse r;
  grpc::Status s = health->Check(&ctx, req, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "unknown service 'other'");
  grpc::ClientContext wctx;
  auto watch = health->Watch(&wctx, {});
  EXPECT_FALSE(watch->Read(&r));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

// A repository where one model fails to load: the server is not ready, so
// the health service says NOT_SERVING, and the index says why.
TEST(ServeGrpcNotReady, HealthIsNotServingAndTheIndexNamesTheFailure) {
  TempDir repo;
  repo.Write("good/config.pbtxt",
             "backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
             "output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }\n");
  repo.MakeDir("good/1");
  repo.Write("bad/config.pbtxt",
             "backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: [ 0 ] }\n"
             "output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }\n");
  repo.MakeDir("bad/1");
  TideProcess server({"serve", "--model-repository", repo.path(), "--http-port", "0", "--grpc-port",
                      "0", "--metrics-port", "0", "--host", "127.0.0.1", "--drain-delay", "0"});
  ASSERT_TRUE(server.started()) << server.Log();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server.grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse hr;
  ASSERT_TRUE(health->Check(&ctx, {}, &hr).ok());
  EXPECT_EQ(hr.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);

  auto stub = inference::GRPCInferenceService::NewStub(channel);
  auto index = [&](bool ready) {
    grpc::ClientContext c;
    inference::RepositoryIndexRequest req;
    req.set_ready(ready);
    inference::RepositoryIndexResponse r;
    EXPECT_TRUE(stub->RepositoryIndex(&c, req, &r).ok());
    std::vector<std::string> got;
    for (const auto& m : r.models()) {
      got.push_back(m.name() + "/" + m.version() + "/" + m.state() + "/" + m.reason());
    }
    return got;
  };
  EXPECT_EQ(index(true), (std::vector<std::string>{"good/1/READY/"}));
  EXPECT_EQ(index(false),
            (std::vector<std::string>{
                "bad//UNAVAILABLE/" + repo.path() +
                    "/bad/config.pbtxt:2:40: field 'input[0].dims[0]': 0 is not a valid dim (use "
                    "a size >= 1, or -1 for a variable size)",
                "good/1/READY/"}));
}

// One FP32 [1] ModelInfer call to `model` (a simulated echo model), its
// answer's OUTPUT0 in `*out`.

// ModelInfer is served from --grpc-threads completion queues: 8 connections
// each making 40 calls one after the other, all at once, spread over three
// queues; each call answered with its own value, and each counted once.
TEST(ServeGrpcQueues, ConcurrentCallsAreEachAnsweredWithTheirOwnValues) {
  TempDir repo;
  repo.Write("echo/config.pbtxt", SimulatedModel("echo", 1, 2, 256));
  repo.MakeDir("echo/1");
  TideProcess server({"serve", "--model-repository", repo.path(), "--http-port", "0", "--grpc-port",
                      "0", "--metrics-port", "0", "--host", "127.0.0.1", "--drain-delay", "0",
                      "--grpc-threads", "3"});
  ASSERT_TRUE(server.started()) << server.Log();
  constexpr int kClients = 8, kCalls = 40;
  std::atomic<int> right{0};
  std::vector<std::string> wrong(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      grpc::ChannelArguments args;  // a connection of its own per client
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto stub = inference::GRPCInferenceService::NewStub(
          grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server.grpc_port()),
                                    grpc::InsecureChannelCredentials(), args));
      for (int i = 0; i < kCalls; ++i) {
        const float value = static_cast<float>(c * 1000 + i);
        float out = -1;
        grpc::Status s = EchoCall(stub.get(), "echo", value, &out);
        if (s.ok() && out == value) {
          ++right;
        } else if (wrong[c].empty()) {
          wrong[c] = std::to_string(value) + " -> " + std::to_string(out) + " " + s.error_message();
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  for (const std::string& w : wrong) EXPECT_EQ(w, "");
  EXPECT_EQ(right.load(), kClients * kCalls);
  std::string metrics = Http(server.metrics_port(), "GET", "/metrics").body;
  EXPECT_EQ(
      MetricValue(metrics,
                  R"(tide_inference_requests_total{model="echo",version="1",outcome="success"})"),
      kClients * kCalls);
}

// SIGTERM with ModelInfer calls executing and queued: every one is answered
// (the worker sends each answer before the completion queues shut down), and
// the server exits 0.
TEST(ServeGrpcQueues, SigtermAnswersEveryCallInFlight) {
  TempDir repo;
  repo.Write("slow/config.pbtxt", SimulatedModel("slow", 300, 1, 16));
  repo.MakeDir("slow/1");
  TideProcess server({"serve", "--model-repository", repo.path(), "--http-port", "0", "--grpc-port",
                      "0", "--metrics-port", "0", "--host", "127.0.0.1", "--drain-delay", "0"});
  ASSERT_TRUE(server.started()) << server.Log();
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.grpc_port()), grpc::InsecureChannelCredentials()));
  constexpr int kCalls = 4;  // one executing, three queued: 1.2 s of work
  std::vector<grpc::Status> status(kCalls);
  std::vector<float> out(kCalls, -1);
  std::vector<std::thread> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.emplace_back([&, i] { status[i] = EchoCall(stub.get(), "slow", 10.0f + i, &out[i]); });
  }
  ASSERT_EQ(AwaitMetric(server.metrics_port(),
                        R"(tide_inference_in_flight{model="slow",version="1"})", kCalls, 5),
            kCalls);
  server.Signal(SIGTERM);
  for (std::thread& t : calls) t.join();
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(status[i].ok()) << i << ": " << status[i].error_message();
    EXPECT_EQ(out[i], 10.0f + i);
  }
  EXPECT_EQ(server.Wait(10), 0) << server.Log();
}

}  // namespace
}  // namespace tide::testing
