// The model control API of the real `tide serve` (--model-control-mode
// explicit, the admin token), its refusals and their metric, unload and
// reload under load, and gzip responses; HTTP and gRPC on port 0.

#include <grpcpp/grpcpp.h>
#include <zlib.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "grpc_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

const char kOneInput[] =
    R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1],"data":[3]}]})";
const std::map<std::string, std::string> kToken = {{"Authorization", "Bearer s3cret"}};

std::string Gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "<corrupt gzip>";
}

// A repository with `m` (10 ms, 2 instances) and `slow` (1 s, 4
// instances), a token file, and a symlink `escape` to a model folder
// outside the repository.
class ServeControl : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.Write("repo/m/config.pbtxt", SimulatedModel("m", 10, 2, 64));
    repo_.MakeDir("repo/m/1");
    repo_.Write("repo/slow/config.pbtxt", SimulatedModel("slow", 1000, 4, 64));
    repo_.MakeDir("repo/slow/1");
    repo_.Write("outside/config.pbtxt", SimulatedModel("escape", 0, 1, 8));
    repo_.MakeDir("outside/1");
    std::filesystem::create_directory_symlink(repo_.path() + "/outside",
                                              repo_.path() + "/repo/escape");
    repo_.Write("token", "s3cret\n");
  }
  void Start(std::vector<std::string> extra) {
    if (std::find(extra.begin(), extra.end(), "--drain-delay") == extra.end()) {
      extra.insert(extra.begin(), {"--drain-delay", "0"});
    }
    extra.insert(extra.begin(), {"--grpc-port", "0"});
    server_ = std::make_unique<TideProcess>(ServeArgs(repo_.path() + "/repo", std::move(extra)));
    ASSERT_TRUE(server_->started()) << server_->Log();
  }
  void StartExplicit() {
    Start({"--model-control-mode", "explicit", "--admin-token-file", repo_.path() + "/token",
           "--load-model", "m", "--load-model", "slow"});
  }
  HttpResult Post(const std::string& path, const std::map<std::string, std::string>& h = kToken,
                  const std::string& body = "") {
    return Http(server_->http_port(), "POST", path, body, h);
  }
  double Metric(const std::string& series) {
    return MetricValue(Http(server_->metrics_port(), "GET", "/metrics").body, series);
  }
  double Control(const std::string& action, const std::string& result) {
    return Metric("tide_model_control_requests_total{action=\"" + action + "\",result=\"" + result +
                  "\"}");
  }

  TempDir repo_;
  std::unique_ptr<TideProcess> server_;
};

TEST_F(ServeControl, ModeNoneRefusesLoadAndUnloadSayingHowToEnableIt) {
  Start({});
  for (const char* action : {"load", "unload"}) {
    HttpResult r = Post(std::string("/v2/repository/models/m/") + action);
    EXPECT_EQ(r.status, 400) << action;
    EXPECT_EQ(r.body,
              "{\"error\":\"explicit model load / unload is not allowed: model control is off "
              "(--model-control-mode none, the default). Start tide serve with "
              "--model-control-mode explicit and an admin token (--admin-token-file FILE or "
              "TIDE_ADMIN_TOKEN) to load and unload models\"}");
    EXPECT_EQ(Control(action, "disabled"), 1) << action;
  }
  // The index stays open, the model served.
  EXPECT_EQ(Http(server_->http_port(), "POST", "/v2/repository/index").status, 200);
  EXPECT_EQ(Post("/v2/models/m/infer", {}, kOneInput).status, 200);
}

TEST_F(ServeControl, ExplicitModeNeedsAToken) {
  TideProcess no_token(
      {"serve", "--model-repository", repo_.path() + "/repo", "--http-port", "0", "--metrics-port",
       "0", "--grpc-port", "-1", "--model-control-mode", "explicit"},
      false);
  EXPECT_EQ(no_token.Wait(30), 1);
  EXPECT_NE(no_token.Log().find("--model-control-mode explicit needs an admin token: "
                                "--admin-token-file FILE or the environment variable "
                                "TIDE_ADMIN_TOKEN"),
            std::string::npos)
      << no_token.Log();
}

TEST_F(ServeControl, TrustLoopbackNeedsExplicitMode) {
  TideProcess wrong({"serve", "--model-repository", repo_.path() + "/repo", "--http-port", "0",
                     "--metrics-port", "0", "--grpc-port", "-1", "--model-control-trust-loopback"},
                    false);
  EXPECT_EQ(wrong.Wait(30), 1);
  EXPECT_NE(wrong.Log().find("--model-control-trust-loopback needs --model-control-mode explicit"),
            std::string::npos)
      << wrong.Log();
}

// With a token as well: tokenless gRPC from 127.0.0.1 is let in (counted
// loopback_trusted), tokenless HTTP from 127.0.0.1 is not (a proxy such as
// Seldon's agent forwards outside HTTP from there), a token works as ever.
TEST_F(ServeControl, TrustLoopbackLetsInTokenlessGrpcFromLoopbackOnly) {
  Start({"--model-control-mode", "explicit", "--admin-token-file", repo_.path() + "/token",
         "--model-control-trust-loopback"});
  EXPECT_EQ(Post("/v2/repository/models/m/load", {}).status, 401);
  EXPECT_EQ(Post("/v2/repository/models/m/load", {{"Authorization", "Bearer nope"}}).status, 403);
  EXPECT_EQ(Http(server_->http_port(), "GET", "/v2/models/m/ready").status, 404);
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server_->grpc_port()), grpc::InsecureChannelCredentials()));
  auto load = [&](const std::string& auth, const std::string& name) {
    grpc::ClientContext ctx;
    if (!auth.empty()) ctx.AddMetadata("authorization", auth);
    inference::RepositoryModelLoadRequest req;
    req.set_model_name(name);
    inference::RepositoryModelLoadResponse resp;
    return stub->RepositoryModelLoad(&ctx, req, &resp);
  };
  EXPECT_EQ(load("Bearer nope", "m").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(load("", "m").error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(Http(server_->http_port(), "GET", "/v2/models/m/ready").status, 200);
  EXPECT_EQ(load("Bearer s3cret", "slow").error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(Post("/v2/repository/models/m/unload").status, 200);  // with the token
  EXPECT_EQ(Control("load", "unauthenticated"), 1);
  EXPECT_EQ(Control("load", "permission_denied"), 2);
  EXPECT_EQ(Control("load", "loopback_trusted"), 1);
  EXPECT_EQ(Control("load", "ok"), 2);
  EXPECT_EQ(Control("unload", "loopback_trusted"), 0);
  EXPECT_EQ(Control("unload", "ok"), 1);
}

TEST_F(ServeControl, TokenAndNameRefusalsAreCountedExactly) {
  StartExplicit();
  HttpResult r = Post("/v2/repository/models/m/load", {});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer realm=\"tide\"");
  EXPECT_EQ(Post("/v2/repository/models/m/load", {{"Authorization", "Basic czNjcmV0"}}).status,
            401);
  EXPECT_EQ(Post("/v2/repository/models/m/unload", {{"Authorization", "Bearer wrong"}}).status,
            403);
  EXPECT_EQ(Post("/v2/repository/index", {}).status, 401);
  EXPECT_EQ(Http(server_->http_port(), "GET", "/v2/repository/index", "",
                 {{"Authorization", "Bearer s3cretX"}})
                .status,
            403);
  // Names that escape the repository: 400, after the token.
  const char* bad[] = {"%2e%2e", "%2e%2e%2foutside", "%2Fetc%2Fpasswd", "m%00x", "escape"};
  for (const char* name : bad) {
    HttpResult b = Post(std::string("/v2/repository/models/") + name + "/load");
    EXPECT_EQ(b.status, 400) << name << ": " << b.body;
  }
  EXPECT_EQ(Post("/v2/repository/models/escape/load").body,
            "{\"error\":\"model name 'escape' is refused: " + repo_.path() +
                "/repo/escape: symlink escapes the model repository (it resolves to " +
                repo_.path() + "/outside, outside " + repo_.path() + "/repo)\"}");
  EXPECT_EQ(Post("/v2/repository/models/nosuch/load").status, 404);
  EXPECT_EQ(
      Post("/v2/repository/models/m/load", kToken, R"({"parameters":{"config":"{}"}})").status,
      400);
  EXPECT_EQ(Control("load", "unauthenticated"), 2);
  EXPECT_EQ(Control("unload", "permission_denied"), 1);
  EXPECT_EQ(Control("index", "unauthenticated"), 1);
  EXPECT_EQ(Control("index", "permission_denied"), 1);
  EXPECT_EQ(Control("load", "invalid_name"), 6);  // five names, and `escape` again
  EXPECT_EQ(Control("load", "not_found"), 1);
  EXPECT_EQ(Control("load", "unsupported"), 1);
  EXPECT_EQ(Control("load", "ok"), 0);
  // The escaping model was never loaded.
  EXPECT_EQ(Http(server_->http_port(), "GET", "/v2/models/escape/ready").status, 404);

  // gRPC: the same refusals with gRPC codes, counted too.
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server_->grpc_port()), grpc::InsecureChannelCredentials()));
  auto load = [&](const std::string& auth, const std::string& name) {
    grpc::ClientContext ctx;
    if (!auth.empty()) ctx.AddMetadata("authorization", auth);
    inference::RepositoryModelLoadRequest req;
    req.set_model_name(name);
    inference::RepositoryModelLoadResponse resp;
    return stub->RepositoryModelLoad(&ctx, req, &resp);
  };
  EXPECT_EQ(load("", "m").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(load("Bearer nope", "m").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(load("Bearer s3cret", "../m").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(load("Bearer s3cret", "m").error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(Control("load", "unauthenticated"), 3);
  EXPECT_EQ(Control("load", "permission_denied"), 1);
  EXPECT_EQ(Control("load", "invalid_name"), 7);
  EXPECT_EQ(Control("load", "ok"), 1);
}

// Requests executing when the unload comes are answered 200 before the
// unload answers; during the unload new ones get 503, after it 404; a client
// sending all along gets only those answers (none lost or reset).
TEST_F(ServeControl, UnloadUnderLoadLosesNoAcceptedRequest) {
  StartExplicit();
  std::atomic<int> executing_ok{0};
  std::vector<std::thread> slow;
  for (int i = 0; i < 4; ++i) {
    slow.emplace_back([&] {
      if (Post("/v2/models/slow/infer", {}, kOneInput).status == 200) ++executing_ok;
    });
  }
  // All four are executing (1 s each) before the unload starts.
  double in_flight = 0;
  for (int i = 0; i < 6000 && in_flight != 4; ++i) {
    in_flight = Metric(R"(tide_inference_in_flight{model="slow",version="1"})");
    if (in_flight != 4) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(in_flight, 4);
  std::atomic<bool> stop{false};
  std::map<int, int> answers;  // status → count, for the continuous client
  std::thread client([&] {
    while (!stop) answers[Post("/v2/models/slow/infer", {}, kOneInput).status]++;
  });
  HttpResult unload = Post("/v2/repository/models/slow/unload");
  EXPECT_EQ(unload.status, 200) << unload.body;
  // The unload answered only once nothing of `slow` was executing any more
  // (read on the server: the four clients may not have read their answers
  // yet), and each of the four was answered 200.
  EXPECT_EQ(Metric(R"(tide_inference_in_flight{model="slow",version="1"})"), 0);
  HttpResult after = Post("/v2/models/slow/infer", {}, kOneInput);
  EXPECT_EQ(after.status, 404);
  EXPECT_EQ(after.body,
            "{\"error\":\"model 'slow' is not loaded (unloaded; POST "
            "/v2/repository/models/slow/load loads it)\"}");
  stop = true;
  client.join();
  for (auto& t : slow) t.join();
  EXPECT_EQ(executing_ok, 4);
  for (const auto& [status, n] : answers) {
    EXPECT_TRUE(status == 200 || status == 503 || status == 404) << status << " x" << n;
  }
  EXPECT_EQ(answers.count(0), 0u) << "a request got no answer";
  HttpResult index = Post("/v2/repository/index");
  EXPECT_NE(index.body.find(R"({"name":"slow","state":"UNAVAILABLE","reason":"unloaded"})"),
            std::string::npos)
      << index.body;
  EXPECT_EQ(Metric(R"(tide_model_ready{model="slow",version="1"})"), 0);
  EXPECT_EQ(Control("unload", "ok"), 1);
  // And it loads again.
  EXPECT_EQ(Post("/v2/repository/models/slow/load").status, 200);
  EXPECT_EQ(Post("/v2/models/slow/infer", {}, kOneInput).status, 200);
}

// SIGTERM while an unload waits for a request (1 s) to finish: the drain
// still ends at --shutdown-timeout (0.3 s), exit 1, instead of waiting for
// the unload (a hung backend would hold it forever).
TEST_F(ServeControl, SigtermDuringAnUnloadStillEndsAtTheShutdownTimeout) {
  Start({"--model-control-mode", "explicit", "--admin-token-file", repo_.path() + "/token",
         "--load-model", "slow", "--shutdown-timeout", "0.3"});
  std::thread request([&] { Post("/v2/models/slow/infer", {}, kOneInput); });
  ASSERT_EQ(AwaitMetric(server_->metrics_port(),
                        R"(tide_inference_in_flight{model="slow",version="1"})", 1, 2),
            1);
  std::thread unload([&] { Post("/v2/repository/models/slow/unload"); });
  // The unload has begun once the index says so.
  const std::string kUnloading = R"({"name":"slow","state":"UNAVAILABLE","reason":"unloading"})";
  HttpResult index;
  for (int i = 0; i < 400; ++i) {
    index = Post("/v2/repository/index");
    if (index.body.find(kUnloading) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_NE(index.body.find(kUnloading), std::string::npos) << index.body;
  auto t0 = std::chrono::steady_clock::now();
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(10), 1) << server_->Log();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 0.9) << "waited for the request instead of --shutdown-timeout";
  EXPECT_NE(server_->Log().find("--shutdown-timeout (300ms) passed with a model load or unload "
                                "still under way (1 request(s) unfinished)"),
            std::string::npos)
      << server_->Log();
  request.join();
  unload.join();
}

// With nothing under way, a --shutdown-timeout already past when the drain
// delay ends is no reason to fail: exit 0.
TEST_F(ServeControl, ShutdownTimeoutShorterThanTheDrainDelayExitsZeroWhenIdle) {
  Start({"--model-control-mode", "explicit", "--admin-token-file", repo_.path() + "/token",
         "--load-model", "m", "--drain-delay", "0.5", "--shutdown-timeout", "0.2"});
  EXPECT_EQ(Post("/v2/models/m/infer", {}, kOneInput).status, 200);
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(10), 0) << server_->Log();
}

TEST_F(ServeControl, ReloadUnderLoadDropsNothing) {
  StartExplicit();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        int s = Post("/v2/models/m/infer", {}, kOneInput).status;
        (s == 200 ? ok : other)++;
      }
    });
  }
  for (int i = 0; i < 3; ++i) {
    HttpResult r = Post("/v2/repository/models/m/load");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(other, 0);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(Control("load", "ok"), 3);
  EXPECT_EQ(Metric(R"(tide_model_ready{model="m",version="1"})"), 1);
}

// A large JSON answer is gzipped for a client that asks; decompressed it is
// byte for byte the answer a client that does not ask gets.
TEST_F(ServeControl, GzipResponses) {
  repo_.Write("repo/wide/config.pbtxt", SimulatedModel("wide", 0, 1, 8, "sleep", "-1"));
  repo_.MakeDir("repo/wide/1");
  Start({});
  std::string data;
  for (int i = 0; i < 400; ++i) data += (i ? "," : "") + std::to_string(i);
  const std::string body =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[400],"data":[)" + data + "]}]}";
  HttpResult plain = Post("/v2/models/wide/infer", {}, body);
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.headers.count("content-encoding"), 0u);
  EXPECT_EQ(plain.headers["vary"], "Accept-Encoding");
  ASSERT_GE(plain.body.size(), 1024u);
  HttpResult gz = Post("/v2/models/wide/infer", {{"Accept-Encoding", "gzip"}}, body);
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.headers["content-encoding"], "gzip");
  EXPECT_EQ(gz.headers["vary"], "Accept-Encoding");
  EXPECT_EQ(gz.headers["content-length"], std::to_string(gz.body.size()));
  EXPECT_LT(gz.body.size(), plain.body.size());
  EXPECT_EQ(Gunzip(gz.body), plain.body);
  // Refused by q=0, or a small body: as it is.
  HttpResult q0 = Post("/v2/models/wide/infer", {{"Accept-Encoding", "gzip;q=0"}}, body);
  EXPECT_EQ(q0.body, plain.body);
  HttpResult small =
      Http(server_->http_port(), "GET", "/v2/health/live", "", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(small.body, "{\"live\":true}");
  EXPECT_EQ(small.headers.count("content-encoding"), 0u);

  // Binary tensor output: Inference-Header-Content-Length is the length of
  // the uncompressed JSON header.
  const std::string bin_body =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[400],"data":[)" + data +
      R"(]}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]})";
  HttpResult bin_plain = Post("/v2/models/wide/infer", {}, bin_body);
  HttpResult bin_gz = Post("/v2/models/wide/infer", {{"Accept-Encoding", "gzip"}}, bin_body);
  ASSERT_EQ(bin_gz.status, 200);
  EXPECT_EQ(bin_gz.headers["content-encoding"], "gzip");
  EXPECT_EQ(bin_gz.headers["inference-header-content-length"],
            bin_plain.headers["inference-header-content-length"]);
  std::string unzipped = Gunzip(bin_gz.body);
  EXPECT_EQ(unzipped, bin_plain.body);
  size_t header = std::stoul(bin_gz.headers["inference-header-content-length"]);
  ASSERT_EQ(unzipped.size(), header + 400 * 4);
  float third;
  std::memcpy(&third, unzipped.data() + header + 3 * 4, 4);
  EXPECT_EQ(third, 3.0f);
}

}  // namespace
}  // namespace tide::testing
