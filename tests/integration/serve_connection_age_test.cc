// --max-connection-age on the real `tide serve`: HTTP keep-alive and gRPC
// connections older than the limit are closed at their next answer (HTTP:
// Connection: close; gRPC: GOAWAY), and the client moves to a new connection
// without a failed request. Also gRPC's message limit from --max-body-bytes.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "grpc_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "health.grpc.pb.h"
#include "http/client.h"
#include "support/grpc_echo.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

// A repository with one simulated model, `echo` (1 ms).
struct EchoRepo : TempDir {
  EchoRepo() {
    Write("echo/config.pbtxt", SimulatedModel("echo", 1, 1, 16));
    MakeDir("echo/1");
  }
};

// Calls every 20 ms on one channel for `seconds`, each with its own value;
// returns how many times the channel became READY (connections it opened),
// and fails the test on any call not answered OK with its value.
int ReadyTransitionsDuringCalls(int grpc_port, double seconds) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port),
                                     grpc::InsecureChannelCredentials());
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  std::atomic<bool> done{false};
  std::atomic<int> ready{0};
  std::thread watcher([&] {
    grpc_connectivity_state last = channel->GetState(false);
    if (last == GRPC_CHANNEL_READY) ++ready;
    while (!done.load()) {
      auto until = std::chrono::system_clock::now() + std::chrono::milliseconds(50);
      if (!channel->WaitForStateChange(last, until)) continue;
      last = channel->GetState(false);
      if (last == GRPC_CHANNEL_READY) ++ready;
    }
  });
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int calls = 0;
  for (float v = 1; std::chrono::steady_clock::now() < end; v += 1) {
    float out = -1;
    grpc::Status s = EchoCall(stub.get(), "echo", v, &out);
    EXPECT_TRUE(s.ok()) << "call " << calls << ": " << s.error_code() << " " << s.error_message();
    EXPECT_EQ(out, v);
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  done = true;
  watcher.join();
  EXPECT_GT(calls, 20);
  return ready.load();
}

// --max-body-bytes also bounds gRPC requests, whose limit is an int: 4 GiB
// used to become a limit of 0, so every gRPC call (health checks too) failed
// with RESOURCE_EXHAUSTED while HTTP served. Found by an outside-in probe.
TEST(ServeConnectionAge, GrpcServesWithABodyLimitBeyondAnInt) {
  EchoRepo repo;
  for (const char* limit : {"4294967296", "4294967300", "2147483648"}) {
    SCOPED_TRACE(limit);
    TideProcess server(ServeArgs(repo.path(), {"--grpc-port", "0", "--max-body-bytes", limit}));
    ASSERT_TRUE(server.started()) << server.Log();
    auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server.grpc_port()), grpc::InsecureChannelCredentials()));
    float out = -1;
    grpc::Status s = EchoCall(stub.get(), "echo", 7.5f, &out);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    EXPECT_EQ(out, 7.5f);
  }
}

// A request whose string is not UTF-8 cannot be parsed (proto3); libprotobuf
// said so on the server's stderr, outside tide's log format, once per call.
// Now through tide's logger at debug level: the log stays tide's.
TEST(ServeConnectionAge, RequestsProtobufCannotParseDoNotWriteToTheLog) {
  EchoRepo repo;
  TideProcess server(ServeArgs(repo.path(), {"--grpc-port", "0"}));
  ASSERT_TRUE(server.started()) << server.Log();
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.grpc_port()), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    inference::ModelInferRequest req;
    req.set_model_name("echo\xff");
    inference::ModelInferResponse resp;
    grpc::Status s = stub->ModelInfer(&ctx, req, &resp);
    EXPECT_FALSE(s.ok());
  }
  float out = -1;  // and the server goes on serving
  ASSERT_TRUE(EchoCall(stub.get(), "echo", 2.5f, &out).ok());
  EXPECT_EQ(out, 2.5f);
  EXPECT_EQ(server.Log().find("libprotobuf"), std::string::npos) << server.Log();
  EXPECT_EQ(server.Log().find("invalid UTF-8"), std::string::npos) << server.Log();
}

// Health/Watch is not served; the answer says so and what to call instead
// (gRPC's default was UNIMPLEMENTED with no message). Found by an outside-in
// probe.
TEST(ServeConnectionAge, HealthWatchSaysItIsNotServed) {
  EchoRepo repo;
  TideProcess server(ServeArgs(repo.path(), {"--grpc-port", "0"}));
  ASSERT_TRUE(server.started()) << server.Log();
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server.grpc_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  auto reader = health->Watch(&ctx, req);
  grpc::health::v1::HealthCheckResponse resp;
  EXPECT_FALSE(reader->Read(&resp));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(s.error_message(),
            "grpc.health.v1.Health/Watch is not served by tide: call Check (as Kubernetes' gRPC "
            "probes do)");
}

// --max-connection-age: a gRPC connection is sent GOAWAY once it is older
// than the limit (within ±10 %); the client moves to a new connection without
// one call failing. With 0 the first connection serves everything.
TEST(ServeConnectionAge, GrpcClientsReconnectWithoutAFailedCall) {
  EchoRepo repo;
  {
    TideProcess server(ServeArgs(repo.path(), {"--grpc-port", "0", "--max-connection-age", "0.5"}));
    ASSERT_TRUE(server.started()) << server.Log();
    // Connections at 0 s and then at most every 0.55 s (and the reconnect).
    EXPECT_GE(ReadyTransitionsDuringCalls(server.grpc_port(), 2.0), 3);
  }
  {
    TideProcess server(ServeArgs(repo.path(), {"--grpc-port", "0", "--max-connection-age", "0"}));
    ASSERT_TRUE(server.started()) << server.Log();
    EXPECT_EQ(ReadyTransitionsDuringCalls(server.grpc_port(), 1.0), 1);
  }
}

// An idle gRPC connection (no call under way) is sent GOAWAY at the age too,
// gracefully, and the next call reconnects; with 0 it stays open.
TEST(ServeConnectionAge, IdleGrpcConnectionIsClosedAtTheAgeToo) {
  EchoRepo repo;
  for (const char* age : {"0.5", "0"}) {
    TideProcess server(ServeArgs(repo.path(), {"--grpc-port", "0", "--max-connection-age", age}));
    ASSERT_TRUE(server.started()) << server.Log();
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server.grpc_port()),
                                       grpc::InsecureChannelCredentials());
    auto stub = inference::GRPCInferenceService::NewStub(channel);
    float out = -1;
    ASSERT_TRUE(EchoCall(stub.get(), "echo", 1, &out).ok());
    ASSERT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
    bool changed = channel->WaitForStateChange(
        GRPC_CHANNEL_READY, std::chrono::system_clock::now() + std::chrono::milliseconds(2000));
    EXPECT_EQ(changed, std::string(age) == "0.5") << age;
    grpc::Status s = EchoCall(stub.get(), "echo", 2, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out, 2);
  }
}

// The same limit on HTTP: a pooled keep-alive connection older than it gets
// `Connection: close` with its next answer (never an error), and the next
// request goes on a new connection.
TEST(ServeConnectionAge, HttpKeepAliveConnectionIsClosedAfterItsNextAnswer) {
  EchoRepo repo;
  TideProcess server(ServeArgs(repo.path(), {"--grpc-port", "-1", "--max-connection-age", "0.5"}));
  ASSERT_TRUE(server.started()) << server.Log();
  httpc::Client client;
  httpc::Request live;
  live.target = "/v2/health/live";
  auto t0 = std::chrono::steady_clock::now();
  auto r = client.Send("127.0.0.1", static_cast<uint16_t>(server.http_port()), live);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->keep_alive);
  EXPECT_EQ(client.idle_connections(), 1);
  std::this_thread::sleep_until(t0 + std::chrono::milliseconds(800));  // past 0.55 s
  r = client.Send("127.0.0.1", static_cast<uint16_t>(server.http_port()), live);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_EQ(client.idle_connections(), 0);
  EXPECT_EQ(MetricValue(Http(server.metrics_port(), "GET", "/metrics").body,
                        R"(tide_http_timeouts_total{kind="age"})"),
            1);
  r = client.Send("127.0.0.1", static_cast<uint16_t>(server.http_port()), live);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->keep_alive);  // a new, young connection
  EXPECT_EQ(client.idle_connections(), 1);
}

}  // namespace
}  // namespace tide::testing
