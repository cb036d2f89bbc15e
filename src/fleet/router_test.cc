#include "fleet/router.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "frontends/http/http_server.h"
#include "gtest/gtest.h"
#include "http/client.h"
#include "metrics/metrics.h"

namespace tide::fleet {
namespace {

// A blocking keep-alive client on 127.0.0.1 (the shared client library).
class Client {
 public:
  explicit Client(uint16_t port) : port_(port), client_(Options()) {}
  httpc::Response Send(const std::string& method, const std::string& target,
                       const std::string& body = "",
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
    httpc::Request req;
    req.method = method;
    req.target = target;
    req.headers = std::move(headers);
    req.body = body;
    absl::StatusOr<httpc::Response> r = client_.Send("127.0.0.1", port_, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : httpc::Response{};
  }
  httpc::Response Get(const std::string& target) { return Send("GET", target); }
  httpc::Response Infer(const std::string& model = "m") {
    return Send("POST", absl::StrCat("/v2/models/", model, "/infer"), "{}",
                {{"Content-Type", "application/json"}});
  }

 private:
  static httpc::ClientOptions Options() {
    httpc::ClientOptions o;
    o.max_idle_per_host = 1;  // one connection, kept alive
    return o;
  }
  const uint16_t port_;
  httpc::Client client_;
};

httpc::Response Infer(uint16_t port, const std::string& model = "m") {
  return Client(port).Infer(model);
}

// A fake replica: answers at once (echoing the request), or holds requests
// until the test releases them.
class FakeReplica {
 public:
  explicit FakeReplica(bool hold = false) : hold_(hold) {
    http::HttpServer::Options o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.handler = [this](http::HttpRequest req, http::Responder respond) {
      http::HttpResponse r;
      r.status = 200;
      r.content_type =
          req.Header("content-type").empty() ? "application/json" : req.Header("content-type");
      if (!req.Header("inference-header-content-length").empty()) {
        r.headers.emplace_back("Inference-Header-Content-Length",
                               req.Header("inference-header-content-length"));
      }
      r.body = req.body;
      std::unique_lock<std::mutex> lock(mu_);
      ++received_;
      last_ = req;
      cv_.notify_all();
      if (hold_) {
        held_.push_back([respond = std::move(respond), r]() { respond(r); });
        return;
      }
      lock.unlock();
      respond(std::move(r));
    };
    server_ = std::move(*http::HttpServer::Create(std::move(o)));
  }
  ~FakeReplica() { server_->Stop(); }

  uint16_t port() const { return server_->port(); }
  int connections() const { return server_->connections(); }
  int received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  http::HttpRequest last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  // Waits until `n` requests have arrived (a condition, not a sleep).
  void WaitReceived(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return received_ >= n; });
  }
  void ReleaseAll() {
    std::vector<std::function<void()>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (auto& f : held) f();
  }

 private:
  const bool hold_;
  std::unique_ptr<http::HttpServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  int received_ = 0;
  http::HttpRequest last_;
  std::vector<std::function<void()>> held_;
};

// A port with nothing listening on it.
uint16_t ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Accepts one connection, reads one whole request from it, closes it
// without answering.
class ClosingReplica {
 public:
  ClosingReplica() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 16);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      while (true) {
        size_t end = in.find("\r\n\r\n");
        if (end != std::string::npos) {
          size_t cl = in.find("Content-Length: ");
          size_t body = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
          if (in.size() >= end + 4 + body) break;
        }
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      requests_ = in.find("\r\n\r\n") != std::string::npos ? 1 : 0;
      ::close(c);
    });
  }
  ~ClosingReplica() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  // After the one request: 1 if it arrived whole.
  int requests() {
    thread_.join();
    thread_ = std::thread([] {});
    return requests_;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  int requests_ = 0;
};

struct RouterFixture : ::testing::Test {
  std::unique_ptr<Router> Make(Router::Options o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.registry = &registry;
    auto r = Router::Create(o);
    EXPECT_TRUE(r.ok()) << r.status();
    return std::move(*r);
  }
  const RouterBackendStats* Find(const std::vector<RouterBackendStats>& stats,
                                 const std::string& name) {
    for (const auto& s : stats) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }
  metrics::Registry registry;
};

TEST_F(RouterFixture, ForwardsRequestAndAnswerAndCountsByModelAndCode) {
  FakeReplica a;
  auto router = Make();
  router->SetBackends({{"a", a.port()}});
  Client c(router->port());
  httpc::Response r =
      c.Send("POST", "/v2/models/simple/infer?x=1", "{\"inputs\":[]}",
             {{"Content-Type", "application/json"}, {"Accept", "application/json"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"inputs\":[]}");
  EXPECT_EQ(r.headers.GetOr("Content-Type"), "application/json");
  EXPECT_EQ(r.headers.GetOr("X-Tide-Replica"), "a");
  http::HttpRequest seen = a.last();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v2/models/simple/infer?x=1");
  EXPECT_EQ(seen.Header("accept"), "application/json");
  EXPECT_EQ(seen.Header("content-length"), "13");
  std::string text = registry.RenderText();
  EXPECT_TRUE(
      absl::StrContains(text, "tide_router_requests_total{model=\"simple\",code=\"200\"} 1\n"))
      << text;
  EXPECT_TRUE(
      absl::StrContains(text, "tide_router_request_duration_seconds_count{model=\"simple\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(text, "tide_router_outstanding{replica=\"a\"} 0\n"));
  auto stats = router->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].name, "a");
  EXPECT_EQ(stats[0].port, a.port());
  EXPECT_EQ(stats[0].requests, 1u);
  EXPECT_EQ(stats[0].errors, 0u);
  EXPECT_EQ(stats[0].outstanding, 0);
}

TEST_F(RouterFixture, CreateRefusesBadOptionsAndABusyPort) {
  Router::Options o;
  o.threads = 0;
  auto r = Router::Create(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "router threads must be at least 1");
  o.threads = 1;
  o.activation_timeout = absl::ZeroDuration();
  EXPECT_EQ(Router::Create(o).status().message(), "router timeouts must be positive");
  auto first = Make();
  Router::Options same;
  same.host = "127.0.0.1";
  same.port = first->port();
  same.registry = &registry;
  EXPECT_FALSE(Router::Create(same).ok());  // the port is taken: an error, not a crash
}

TEST_F(RouterFixture, ConcurrentClientsAreAllAnsweredAndCounted) {
  FakeReplica a, b;
  auto router = Make();
  router->SetBackends({{"a", a.port()}, {"b", b.port()}});
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&] {
      Client c(router->port());
      for (int i = 0; i < kEach; ++i) ok += c.Infer().status == 200 ? 1 : 0;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  EXPECT_EQ(a.received() + b.received(), kThreads * kEach);
  uint64_t answered = 0;
  for (const auto& s : router->Stats()) {
    EXPECT_EQ(s.outstanding, 0);
    EXPECT_EQ(s.errors, 0u);
    answered += s.requests;
  }
  EXPECT_EQ(answered, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_TRUE(absl::StrContains(registry.RenderText(),
                                "tide_router_requests_total{model=\"m\",code=\"200\"} 200\n"));
}

TEST(RouterModelLabelTest, SegmentAfterModels) {
  EXPECT_EQ(RouterModelLabel("/v2/models/simple/infer"), "simple");
  EXPECT_EQ(RouterModelLabel("/v2/models/simple/versions/1/infer"), "simple");
  EXPECT_EQ(RouterModelLabel("/v2/models/simple"), "simple");
  EXPECT_EQ(RouterModelLabel("/v2/models/stats"), "");
  EXPECT_EQ(RouterModelLabel("/v2/health/ready"), "");
  EXPECT_EQ(RouterModelLabel("/v2"), "");
}

TEST_F(RouterFixture, BinaryExtensionBytesForwardedUnchanged) {
  FakeReplica a;
  auto router = Make();
  router->SetBackends({{"a", a.port()}});
  std::string header = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT8\",\"shape\":[256]}]}";
  std::string body = header;
  for (int i = 0; i < 256; ++i) body.push_back(static_cast<char>(i));
  body += std::string("\0\r\n\r\n\0", 6);
  httpc::Response r =
      Client(router->port())
          .Send("POST", "/v2/models/m/infer", body,
                {{"Content-Type", "application/octet-stream"},
                 {"Inference-Header-Content-Length", std::to_string(header.size())}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(a.last().body, body);  // to the replica
  EXPECT_EQ(a.last().Header("inference-header-content-length"), std::to_string(header.size()));
  EXPECT_EQ(r.body, body);  // and back
  EXPECT_EQ(r.headers.GetOr("Inference-Header-Content-Length"), std::to_string(header.size()));
  EXPECT_EQ(r.headers.GetOr("Content-Type"), "application/octet-stream");
}

TEST_F(RouterFixture, LargeBodiesBothWaysArriveWhole) {
  FakeReplica a;
  auto router = Make();
  router->SetBackends({{"a", a.port()}});
  std::string body(8 << 20, '\0');  // over any socket buffer: partial writes and reads
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 7919) >> 3);
  Client c(router->port());
  httpc::Response r =
      c.Send("POST", "/v2/models/m/infer", body, {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(a.last().body == body);
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body);
  EXPECT_EQ(c.Infer().status, 200);  // and the connections are still good
}

TEST_F(RouterFixture, KeepAliveConnectionReusedPerLoop) {
  FakeReplica a;
  Router::Options o;
  o.threads = 1;
  auto router = Make(o);
  router->SetBackends({{"a", a.port()}});
  Client c(router->port());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.Infer().status, 200);
  EXPECT_EQ(a.received(), 20);
  EXPECT_EQ(a.connections(), 1);  // one upstream connection carried all 20
}

TEST_F(RouterFixture, LeastOutstandingAvoidsTheBusyReplica) {
  FakeReplica slow(/*hold=*/true), fast;
  auto router = Make();
  router->SetBackends({{"slow", slow.port()}});
  std::thread first([&] { EXPECT_EQ(Infer(router->port()).status, 200); });
  slow.WaitReceived(1);
  router->SetBackends({{"slow", slow.port()}, {"fast", fast.port()}});
  Client c(router->port());
  for (int i = 0; i < 20; ++i) {
    httpc::Response r = c.Infer();
    EXPECT_EQ(r.headers.GetOr("X-Tide-Replica"), "fast");
  }
  EXPECT_EQ(fast.received(), 20);
  EXPECT_EQ(slow.received(), 1);
  auto stats = router->Stats();
  ASSERT_NE(Find(stats, "slow"), nullptr);
  EXPECT_EQ(Find(stats, "slow")->outstanding, 1);
  EXPECT_EQ(Find(stats, "fast")->requests, 20u);
  slow.ReleaseAll();
  first.join();
  EXPECT_TRUE(router->WaitIdle("slow", absl::Seconds(10)));
  EXPECT_EQ(Find(router->Stats(), "slow")->requests, 1u);
}

TEST_F(RouterFixture, ReplicaTakenOutStopsReceivingAndWaitIdleReturnsAtZero) {
  FakeReplica a(/*hold=*/true), b;
  auto router = Make();
  router->SetBackends({{"a", a.port()}});
  std::thread first([&] {
    httpc::Response r = Infer(router->port());
    EXPECT_EQ(r.status, 200);  // finishes normally after being taken out
    EXPECT_EQ(r.headers.GetOr("X-Tide-Replica"), "a");
  });
  a.WaitReceived(1);
  router->SetBackends({{"b", b.port()}});
  Client c(router->port());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.Infer().headers.GetOr("X-Tide-Replica"), "b");
  EXPECT_EQ(a.received(), 1);
  auto stats = router->Stats();
  ASSERT_EQ(stats.size(), 2u);  // a is listed while its request is outstanding
  EXPECT_EQ(Find(stats, "a")->outstanding, 1);
  EXPECT_FALSE(router->WaitIdle("a", absl::Milliseconds(20)));
  a.ReleaseAll();
  EXPECT_TRUE(router->WaitIdle("a", absl::Seconds(10)));
  first.join();
  stats = router->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].name, "b");
}

TEST_F(RouterFixture, ConnectRefusedIsRetriedOnAnotherReplica) {
  FakeReplica live;
  auto router = Make();
  router->SetBackends({{"dead", ClosedPort()}, {"live", live.port()}});
  int ok = 0;
  for (int i = 0; i < 40; ++i) ok += Infer(router->port()).status == 200 ? 1 : 0;
  EXPECT_EQ(ok, 40);  // no client saw an error
  EXPECT_EQ(live.received(), 40);
  auto stats = router->Stats();
  const RouterBackendStats* dead = Find(stats, "dead");
  ASSERT_NE(dead, nullptr);
  EXPECT_EQ(dead->requests, 0u);
  EXPECT_GT(dead->errors, 0u);  // it was picked, refused, and the request went on
  EXPECT_EQ(dead->outstanding, 0);
  EXPECT_TRUE(absl::StrContains(registry.RenderText(),
                                absl::StrCat("tide_router_retries_total ", dead->errors, "\n")));
  EXPECT_TRUE(absl::StrContains(registry.RenderText(),
                                "tide_router_requests_total{model=\"m\",code=\"200\"} 40\n"));
}

TEST_F(RouterFixture, AllReplicasRefusingIs503NotAHang) {
  auto router = Make();
  router->SetBackends({{"dead", ClosedPort()}});
  httpc::Response r = Infer(router->port());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.GetOr("Retry-After"), "1");
  EXPECT_TRUE(absl::StrContains(r.body, "no ready replica accepted the connection")) << r.body;
}

TEST_F(RouterFixture, NoRetryOnceTheRequestWasWritten) {
  ClosingReplica closing;
  FakeReplica live;
  auto router = Make();
  router->SetBackends({{"closing", closing.port()}});
  httpc::Response r = Infer(router->port());
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.headers.GetOr("X-Tide-Replica"), "closing");
  EXPECT_TRUE(absl::StrContains(r.body, "closed the connection")) << r.body;
  EXPECT_EQ(closing.requests(), 1);
  EXPECT_EQ(live.received(), 0);
  auto stats = router->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].errors, 1u);
  EXPECT_EQ(stats[0].requests, 0u);
  std::string text = registry.RenderText();
  EXPECT_TRUE(absl::StrContains(text, "tide_router_retries_total 0\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "tide_router_requests_total{model=\"m\",code=\"502\"} 1\n"));
}

TEST_F(RouterFixture, ReplicaSlowerThanUpstreamTimeoutIs504) {
  FakeReplica a(/*hold=*/true);
  Router::Options o;
  o.upstream_timeout = absl::Milliseconds(100);
  auto router = Make(o);
  router->SetBackends({{"a", a.port()}});
  httpc::Response r = Infer(router->port());
  EXPECT_EQ(r.status, 504);
  EXPECT_TRUE(absl::StrContains(r.body, "did not answer within the upstream timeout of 100ms"))
      << r.body;
  EXPECT_EQ(router->Stats()[0].outstanding, 0);
  a.ReleaseAll();
}

void WaitHeld(Router& router, int n) {
  while (router.HeldRequests() < n) std::this_thread::yield();
}

TEST_F(RouterFixture, HeldWithoutReplicasThenAnsweredWhenOneIsAdded) {
  FakeReplica a;
  auto router = Make();
  std::thread client([&] {
    httpc::Response r = Infer(router->port());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.GetOr("X-Tide-Replica"), "a");
  });
  WaitHeld(*router, 1);
  EXPECT_TRUE(absl::StrContains(registry.RenderText(), "tide_router_held_requests 1\n"));
  router->SetBackends({{"a", a.port()}});
  client.join();
  EXPECT_EQ(router->HeldRequests(), 0);
  EXPECT_EQ(a.received(), 1);
  EXPECT_TRUE(absl::StrContains(registry.RenderText(), "tide_router_held_requests 0\n"));
}

TEST_F(RouterFixture, HeldPastActivationTimeoutIs503WithRetryAfter) {
  Router::Options o;
  o.activation_timeout = absl::Milliseconds(100);
  auto router = Make(o);
  absl::Time start = absl::Now();
  httpc::Response r = Infer(router->port());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.GetOr("Retry-After"), "1");
  EXPECT_TRUE(absl::StrContains(r.body, "activation timeout of 100ms")) << r.body;
  EXPECT_EQ(router->HeldRequests(), 0);
}

TEST_F(RouterFixture, ReadyWhenAReplicaIsLiveAlways) {
  FakeReplica a;
  auto router = Make();
  Client c(router->port());
  httpc::Response r = c.Get("/v2/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"ready\":false}");
  EXPECT_EQ(c.Get("/v2/health/live").status, 200);
  router->SetBackends({{"a", a.port()}});
  r = c.Get("/v2/health/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"ready\":true}");
  EXPECT_EQ(a.received(), 0);  // answered by the router itself
  router->SetBackends({});
  EXPECT_EQ(c.Get("/v2/health/ready").status, 503);
}

TEST_F(RouterFixture, ShutdownAnswersHeldRequestsWith503) {
  auto router = Make();
  std::thread client([&] {
    httpc::Response r = Infer(router->port());
    EXPECT_EQ(r.status, 503);
    EXPECT_TRUE(absl::StrContains(r.body, "shutting down")) << r.body;
  });
  WaitHeld(*router, 1);
  router->Shutdown(absl::Seconds(5));
  client.join();
  EXPECT_EQ(router->HeldRequests(), 0);
}

TEST_F(RouterFixture, ShutdownLetsOutstandingRequestsFinish) {
  FakeReplica a(/*hold=*/true);
  auto router = Make();
  router->SetBackends({{"a", a.port()}});
  std::thread client([&] { EXPECT_EQ(Infer(router->port()).status, 200); });
  a.WaitReceived(1);
  // Released before or while Shutdown waits: either way the answer reaches
  // the client.
  std::thread release([&] { a.ReleaseAll(); });
  router->Shutdown(absl::Seconds(10));
  client.join();
  release.join();
}

}  // namespace
}  // namespace tide::fleet
