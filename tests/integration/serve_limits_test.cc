// The real `tide serve` against hostile and unlucky clients: a request
// desync attempt, a flood of idle connections, one very large body, and a
// SIGTERM under keep-alive load counted by a client that checks every request
// it wrote got an answer.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

const char kOneInput[] =
    R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1],"data":[3]}]})";

// A blocking client connection to 127.0.0.1 that reads whole HTTP/1.1
// responses (Content-Length framed, as tide sends them).
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Conn() { close(fd_); }
  bool connected() const { return connected_; }

  bool Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  struct Response {
    int status = 0;  // 0: the connection ended before a whole response
    bool close = false;
    bool retry_after = false;
    std::string head, body;
  };
  // Reads one whole response (60 s at most between reads).
  Response Read() {
    Response r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    std::string head = buf_.substr(0, end + 2);
    size_t len_at = head.find("Content-Length: ");
    if (len_at == std::string::npos) return r;
    size_t len = std::stoul(head.substr(len_at + 16));
    while (buf_.size() < end + 4 + len) {
      if (!Fill()) return r;
    }
    r.status = std::stoi(head.substr(9, 3));
    r.close = head.find("Connection: close\r\n") != std::string::npos;
    r.retry_after = head.find("Retry-After: ") != std::string::npos;
    r.head = head;
    r.body = buf_.substr(end + 4, len);
    buf_.erase(0, end + 4 + len);
    return r;
  }
  // True when the peer has closed (EOF or reset) within `ms`.
  bool ClosedWithin(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return false;
    char c;
    return recv(fd_, &c, 1, MSG_PEEK) <= 0;
  }

 private:
  bool Fill() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 60000) <= 0) return false;  // a 57 MiB answer on a busy machine is slow
    char chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::unique_ptr<TideProcess> Serve(const std::string& repo, std::vector<std::string> extra = {},
                                   const rlimit* nofile = nullptr) {
  extra.insert(extra.begin(), {"--grpc-port", "-1"});
  return std::make_unique<TideProcess>(ServeArgs(repo, std::move(extra)), true, nofile);
}

// `tide serve` with one model, m (simulated, no compute), in `repo`; `nofile`
// as for TideProcess.
std::unique_ptr<TideProcess> ServeM(TempDir& repo, const rlimit* nofile = nullptr) {
  repo.Write("m/config.pbtxt", SimulatedModel("m", 0, 1, 16, "sleep", "-1"));
  repo.MakeDir("m/1");
  return Serve(repo.path(), {}, nofile);
}

// The soft and hard RLIMIT_NOFILE of a process, from /proc/PID/limits.
std::pair<uint64_t, uint64_t> NofileOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    uint64_t soft = 0, hard = 0;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {0, 0};
}

// VmRSS or VmHWM of a process, in MiB.
double ProcMiB(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  }
  return -1;
}

TEST(ServeLimits, TransferEncodingDesyncIsRefusedAndCounted) {
  TempDir repo;
  repo.Write("m/config.pbtxt", SimulatedModel("m", 1, 1, 16, "sleep", "-1"));
  repo.MakeDir("m/1");
  auto server = Serve(repo.path());
  ASSERT_TRUE(server->started()) << server->Log();
  const std::string smuggled = "GET /v2/models/smuggled/ready HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const char* te : {"chunked, identity", "gzip", "identity", "xchunked"}) {
    SCOPED_TRACE(te);
    Conn c(server->http_port());
    ASSERT_TRUE(
        c.Send(std::string("POST /v2/health/live HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") + te +
               "\r\n\r\n" + smuggled));
    Conn::Response r = c.Read();
    EXPECT_EQ(r.status, 400) << r.head << r.body;
    EXPECT_TRUE(r.close);
    EXPECT_EQ(c.Read().status, 0);  // nothing more: the "body" was not taken as a request
  }
  std::string metrics = Http(server->metrics_port(), "GET", "/metrics").body;
  EXPECT_EQ(MetricValue(metrics, R"(tide_http_responses_total{code="400"})"), 4) << metrics;
  EXPECT_EQ(metrics.find("smuggled"), std::string::npos);
}

// tide_http_responses_total counts every answer once, by code: the
// handler's (inference, errors it finds) and the transport's own.
TEST(ServeLimits, EveryResponseIsCountedOnceByCode) {
  TempDir repo;
  auto server = ServeM(repo);
  ASSERT_TRUE(server->started()) << server->Log();
  auto count = [&](const char* code) {
    std::string metrics = Http(server->metrics_port(), "GET", "/metrics").body;
    double v =
        MetricValue(metrics, std::string("tide_http_responses_total{code=\"") + code + "\"}");
    return v < 0 ? 0 : v;
  };
  const double ok0 = count("200"), missing0 = count("404"), bad0 = count("400");
  {
    Conn c(server->http_port());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(c.Send(Post("/v2/models/m/infer", kOneInput)));
      EXPECT_EQ(c.Read().status, 200);
    }
    ASSERT_TRUE(c.Send(Post("/v2/models/nope/infer", kOneInput)));
    EXPECT_EQ(c.Read().status, 404);
    ASSERT_TRUE(c.Send("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(c.Read().status, 200);
    ASSERT_TRUE(c.Send(Post("/v2/models/m/infer", "{not json")));
    EXPECT_EQ(c.Read().status, 400);
    ASSERT_TRUE(c.Send("NOT HTTP\r\n\r\n"));  // the transport's own 400
    Conn::Response r = c.Read();
    EXPECT_EQ(r.status, 400);
    EXPECT_TRUE(r.close);
  }
  EXPECT_EQ(count("200") - ok0, 4);
  EXPECT_EQ(count("404") - missing0, 1);
  EXPECT_EQ(count("400") - bad0, 2);
}

TEST(ServeLimits, HealthStaysReachableUnderAConnectionFlood) {
  TempDir repo;
  repo.Write("m/config.pbtxt", SimulatedModel("m", 1, 1, 16, "sleep", "-1"));
  repo.MakeDir("m/1");
  auto server = Serve(repo.path(), {"--max-connections", "32"});
  ASSERT_TRUE(server->started()) << server->Log();
  // The cap and the reserve above it (64), all held idle.
  std::vector<std::unique_ptr<Conn>> flood;
  for (int i = 0; i < 32 + 64; ++i) flood.push_back(std::make_unique<Conn>(server->http_port()));
  // The server's count of open connections on the inference port, polled
  // until it is `n` (up to 10 s); the test stops if it never gets there:
  // the checks below mean nothing otherwise (a missing metric reads -1).
  auto await_connections = [&](double n) {
    ASSERT_EQ(AwaitMetric(server->metrics_port(), "tide_http_connections", n), n)
        << "tide_http_connections\n"
        << server->Log();
  };
  await_connections(96);
  if (HasFatalFailure()) return;
  // The metrics port answers health whatever the inference port suffers.
  EXPECT_EQ(Http(server->metrics_port(), "GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Http(server->metrics_port(), "GET", "/v2/health/ready").status, 200);
  // Beyond cap and reserve the inference port refuses at once.
  EXPECT_EQ(Http(server->http_port(), "GET", "/v2/health/live").status, 503);
  // With the reserve free again (the idle flood at the cap only), liveness on
  // the inference port is answered, and other work over the cap is refused.
  flood.resize(32);
  await_connections(32);
  if (HasFatalFailure()) return;
  EXPECT_EQ(Http(server->http_port(), "GET", "/v2/health/live").status, 200);
  HttpResult infer = Http(server->http_port(), "POST", "/v2/models/m/infer", kOneInput);
  EXPECT_EQ(infer.status, 503) << infer.body;
  EXPECT_NE(infer.body.find("too many connections"), std::string::npos) << infer.body;
}

// Out of descriptors, accept() fails (EMFILE): tide stops watching the
// listener until the next sweep instead of spinning, counts each failed
// accept in tide_http_accept_errors_total, keeps serving the connections it
// has, and accepts again once descriptors are free.
TEST(ServeLimits, DescriptorExhaustionIsCountedAndRecoveredFrom) {
  TempDir repo;
  repo.Write("m/config.pbtxt", SimulatedModel("m", 1, 1, 16, "sleep", "-1"));
  repo.MakeDir("m/1");
  auto server = Serve(repo.path());
  ASSERT_TRUE(server->started()) << server->Log();
  const std::string fd_dir = "/proc/" + std::to_string(server->pid()) + "/fd";
  auto open_fds = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(fd_dir)) n += e.exists() ? 1 : 0;
    return n;
  };
  Conn kept(server->http_port());  // opened before the exhaustion
  ASSERT_TRUE(kept.Send("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(kept.Read().status, 200);
  const int limit = open_fds() + 8;
  rlimit nofile{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
  ASSERT_EQ(prlimit(server->pid(), RLIMIT_NOFILE, &nofile, nullptr), 0);
  std::vector<std::unique_ptr<Conn>> flood;
  for (int i = 0; i < 32; ++i) flood.push_back(std::make_unique<Conn>(server->http_port()));
  for (int i = 0; i < 500 && open_fds() < limit; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // A connection it already has is still served.
  ASSERT_TRUE(kept.Send("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(kept.Read().status, 200);
  // Those it found no descriptor for, and a new one, are answered at once
  // (503, closed) instead of waiting in the listen backlog.
  Conn::Response refused = flood.back()->Read();
  EXPECT_EQ(refused.status, 503) << refused.head << refused.body;
  {
    Conn fresh(server->http_port());
    Conn::Response r = fresh.Read();
    EXPECT_EQ(r.status, 503) << r.head << r.body;
    EXPECT_TRUE(r.close);
    EXPECT_TRUE(r.retry_after);
    EXPECT_NE(r.body.find("out of file descriptors"), std::string::npos) << r.body;
  }
  flood.clear();
  // Descriptors free again (once the server has seen the flood close): new
  // connections are accepted and served.
  for (int i = 0; i < 500 && open_fds() > limit - 8; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  HttpResult infer = Http(server->http_port(), "POST", "/v2/models/m/infer", kOneInput);
  EXPECT_EQ(infer.status, 200) << infer.body;
  const double accept_errors = MetricValue(Http(server->metrics_port(), "GET", "/metrics").body,
                                           "tide_http_accept_errors_total");
  EXPECT_GE(accept_errors, 1) << server->Log();
}

// tide raises its soft descriptor limit to the hard one at start-up (a
// shell's soft limit is often far below what connections need).
TEST(ServeLimits, SoftDescriptorLimitIsRaisedToTheHardOne) {
  TempDir repo;
  rlimit nofile{200, 4096};
  auto server = ServeM(repo, &nofile);
  ASSERT_TRUE(server->started()) << server->Log();
  EXPECT_EQ(NofileOf(server->pid()), (std::pair<uint64_t, uint64_t>{4096, 4096}));
  EXPECT_EQ(server->Log().find("needs more descriptors"), std::string::npos) << server->Log();
}

// Where the hard limit cannot hold --max-connections (and the connections
// kept for health checks), the cap is lowered below it, with a warning: a
// flood then meets the cap, a prompt 503, instead of running the process
// out of descriptors, and the metrics port keeps answering.
TEST(ServeLimits, ConnectionsAreCappedBelowTheDescriptorLimit) {
  TempDir repo;
  rlimit nofile{300, 300};
  auto server = ServeM(repo, &nofile);
  ASSERT_TRUE(server->started()) << server->Log();
  const std::string log = server->Log();
  const size_t at = log.find("the inference port takes at most ");
  ASSERT_NE(at, std::string::npos) << log;
  int cap = 0, reserved = 0;
  ASSERT_EQ(std::sscanf(log.c_str() + at, "the inference port takes at most %d connections (+%d",
                        &cap, &reserved),
            2)
      << log;
  EXPECT_NE(log.find("--max-connections 1024 (+64 for health checks) needs more descriptors than "
                     "RLIMIT_NOFILE 300 leaves"),
            std::string::npos)
      << log;
  EXPECT_GT(cap, 100);
  EXPECT_LT(cap + reserved, 300 - 64);
  EXPECT_EQ(reserved, 64);
  std::vector<std::unique_ptr<Conn>> flood;
  for (int i = 0; i < cap + reserved + 16; ++i) {
    flood.push_back(std::make_unique<Conn>(server->http_port()));
  }
  // The last one is over the cap and the reserve: refused at once.
  Conn::Response over = flood.back()->Read();
  EXPECT_EQ(over.status, 503) << over.head << over.body;
  EXPECT_NE(over.body.find("too many connections"), std::string::npos) << over.body;
  // Descriptors were never exhausted, and the metrics port answers.
  HttpResult metrics = Http(server->metrics_port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(MetricValue(metrics.body, "tide_http_accept_errors_total"), 0) << server->Log();
  flood.clear();
  // Once the server has seen them close, new connections are served.
  EXPECT_EQ(AwaitMetric(server->metrics_port(), "tide_http_connections", 0), 0);
  HttpResult infer = Http(server->http_port(), "POST", "/v2/models/m/infer", kOneInput);
  EXPECT_EQ(infer.status, 200) << infer.body;
}

TEST(ServeLimits, OneLargeBodyDoesNotKeepItsMemory) {
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan the server's resident memory is its shadow and quarantine
  // (354 MiB before any request; freed blocks are held back on purpose), so
  // these figures say nothing about tide. The normal build runs it.
  GTEST_SKIP() << "resident memory under ASan is its shadow and quarantine";
#endif
  TempDir repo;
  repo.Write("m/config.pbtxt", SimulatedModel("m", 1, 1, 16, "sleep", "-1"));
  repo.MakeDir("m/1");
  auto server = Serve(repo.path());
  ASSERT_TRUE(server->started()) << server->Log();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Http(server->http_port(), "POST", "/v2/models/m/infer", kOneInput).status, 200);
  }
  const double base = ProcMiB(server->pid(), "VmRSS");
  // ~60 MiB of zeros: a valid request for `m` (15.7 M elements), and the same
  // body for a model that does not exist. Several times, so that both I/O
  // threads see one.
  std::string zeros;
  const size_t n = 30'000'000;
  zeros.reserve(2 * n + 128);
  zeros = R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[)" + std::to_string(n) +
          R"(],"data":[)";
  for (size_t i = 0; i < n; ++i) zeros += i == 0 ? "0" : ",0";
  zeros += "]}]}";
  ASSERT_LT(zeros.size(), size_t{64} << 20);
  for (int i = 0; i < 4; ++i) {
    Conn c(server->http_port());
    ASSERT_TRUE(c.Send(Post(i % 2 ? "/v2/models/nosuch/infer" : "/v2/models/m/infer", zeros)));
    Conn::Response r = c.Read();
    EXPECT_EQ(r.status, i % 2 ? 404 : 200) << r.body.substr(0, 200);
  }
  // The server lets go of a request's memory when it closes the connection,
  // on its I/O thread, after the client has closed it: read RSS once it has
  // (no connection left open), and give the frees up to 5 s to show. Read at
  // once, RSS was still 132 MiB (3 of 3); the fixed 200 ms this replaces
  // held only while the server's I/O thread ran within that time.
  ASSERT_EQ(AwaitMetric(server->metrics_port(), "tide_http_connections", 0), 0)
      << "tide_http_connections after the requests\n"
      << server->Log();
  double after = ProcMiB(server->pid(), "VmRSS");
  for (int i = 0; i < 100 && after - base >= 32; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    after = ProcMiB(server->pid(), "VmRSS");
  }
  const double peak = ProcMiB(server->pid(), "VmHWM");
  const double body_mib = static_cast<double>(zeros.size()) / (1 << 20);
  std::printf("body %.0f MiB; RSS %.0f MiB before, %.0f MiB after, peak %.0f MiB\n", body_mib, base,
              after, peak);
  EXPECT_LT(after - base, 32) << "memory kept after the requests";
  // The decoder reads the JSON with simdjson's On Demand API, which keeps
  // only its structural indexes (~4 bytes per byte of number-dense JSON;
  // its DOM took ~14, a peak of ~880 MiB here): with the body and the
  // decoded tensor, the peak is ~7 bytes per byte of body (~405 MiB). It
  // is linear in the body, and the binary tensor extension is the way to
  // send large tensors.
  EXPECT_LT(peak - base, 9 * body_mib) << "memory per request is not linear in its body";
}

// Under an address-space limit of 1 GiB (prlimit), no request, however
// large its claims, kills the server: claimed shapes and sizes are checked
// against the bytes actually sent before anything is allocated, and a body
// that does not fit is refused.
TEST(ServeLimits, ClaimsCannotKillAServerUnderAnAddressSpaceLimit) {
#if defined(__SANITIZE_ADDRESS__)
  // ASan maps terabytes of shadow address space: under a 1 GiB RLIMIT_AS an
  // instrumented server cannot allocate at all. The normal build runs it.
  GTEST_SKIP() << "an ASan process cannot run under a 1 GiB address-space limit";
#endif
  TempDir repo;
  repo.Write("m/config.pbtxt", SimulatedModel("m", 1, 1, 16, "sleep", "-1"));
  repo.MakeDir("m/1");
  auto server = Serve(repo.path());
  ASSERT_TRUE(server->started()) << server->Log();
  rlimit as{rlim_t{1} << 30, rlim_t{1} << 30};
  ASSERT_EQ(prlimit(server->pid(), RLIMIT_AS, &as, nullptr), 0);
  const std::string infer = "/v2/models/m/infer";
  const std::vector<std::string> claims = {
      R"({"inputs":[{"name":"INPUT0","datatype":"INT64","shape":[2147483647],"data":[1]}]})",
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[2147483647],"data":[1]}]})",
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[9223372036854775807],"data":[1]}]})",
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[4294967296,4294967296],"data":[1]}]})",
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[-1],"data":[1]}]})",
      R"({"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[2147483647],"data":["a"]}]})",
  };
  for (const std::string& body : claims) {
    SCOPED_TRACE(body);
    HttpResult r = Http(server->http_port(), "POST", infer, body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.body.rfind(R"({"error":")", 0), 0u) << r.body;
  }
  // The binary extension: a JSON header claiming far more bytes than follow.
  const std::string header = R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[536870912],)"
                             R"("parameters":{"binary_data_size":2147483648}}]})";
  HttpResult bin = Http(server->http_port(), "POST", infer, header + "abcd",
                        {{"Inference-Header-Content-Length", std::to_string(header.size())},
                         {"Content-Type", "application/octet-stream"}});
  EXPECT_EQ(bin.status, 400) << bin.body;
  // A body close to the limit: answered (or refused for memory), never fatal.
  std::string zeros =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[30000000],"data":[)";
  zeros.reserve(60'000'128);
  for (int i = 0; i < 30'000'000; ++i) zeros += i == 0 ? "0" : ",0";
  zeros += "]}]}";
  for (int i = 0; i < 2; ++i) {
    Conn c(server->http_port());
    ASSERT_TRUE(c.Send(Post(infer, zeros)));
    Conn::Response r = c.Read();
    EXPECT_TRUE(r.status == 200 || r.status == 503) << r.status << " " << r.body.substr(0, 200);
  }
  EXPECT_EQ(kill(server->pid(), 0), 0) << "the server died: " << server->Log();
  EXPECT_EQ(Http(server->http_port(), "POST", infer, kOneInput).status, 200) << server->Log();
}

// Keep-alive clients at several hundred requests per second while the server
// gets SIGTERM: every request a client wrote is answered (200, or 503 with
// Retry-After once the server refuses work), every response from the drain on
// says Connection: close, and no connection ends with a request unanswered.
TEST(ServeLimits, SigtermUnderKeepAliveLoadLosesNoRequest) {
  TempDir repo;
  repo.Write("m/config.pbtxt", SimulatedModel("m", 10, 8, 256, "sleep", "-1"));
  repo.MakeDir("m/1");
  // One request of 1.5 s, in flight across the whole drain: the server
  // waits for it, and the refusing phase lasts until it is answered, long
  // enough for the reconnecting clients to be refused (with 0.01 s requests
  // alone that phase was sometimes too short for any to reach it).
  repo.Write("slow/config.pbtxt", SimulatedModel("slow", 1500, 1, 4, "sleep", "-1"));
  repo.MakeDir("slow/1");
  auto server = Serve(repo.path(), {"--drain-delay", "0.5", "--shutdown-timeout", "10"});
  ASSERT_TRUE(server->started()) << server->Log();
  const int port = server->http_port();
  std::atomic<bool> signalled{false};
  std::atomic<int> sent{0}, ok{0}, refused{0}, lost{0}, open_after_close{0};
  std::atomic<int> drain_without_close{0}, refused_without_retry{0}, after_signal{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      std::unique_ptr<Conn> c;
      const auto stop_at = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < stop_at) {
        if (!c) {
          c = std::make_unique<Conn>(port);
          if (!c->connected()) return;  // the listener is gone: the server has stopped
        }
        bool during_drain = signalled.load();
        if (!c->Send(Post("/v2/models/m/infer", kOneInput))) {
          c.reset();  // nothing was written: reconnect
          continue;
        }
        ++sent;
        if (during_drain) ++after_signal;
        Conn::Response r = c->Read();
        if (r.status == 200) {
          ++ok;
        } else if (r.status == 503) {
          ++refused;
          if (!r.retry_after) ++refused_without_retry;
        } else {
          ++lost;  // written, never answered
          c.reset();
          continue;
        }
        if (during_drain && !r.close) ++drain_without_close;
        if (r.close) {
          if (!c->ClosedWithin(2000)) ++open_after_close;
          c.reset();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(4));
      }
    });
  }
  // Load first (a fixed 800 ms was too short for 200 requests once, on a
  // 2-core machine at load average 14): until 300 are sent, for up to 10 s.
  for (int i = 0; i < 1000 && sent.load() < 300; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int before = sent.load();
  HttpResult slow;
  std::thread slow_client([&] { slow = Http(port, "POST", "/v2/models/slow/infer", kOneInput); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server->Signal(SIGTERM);
  // The drain begins when the server handles the signal, not when it is
  // sent: on a loaded machine that took several milliseconds, and requests
  // answered in between rightly kept their connections (11 of them once, in
  // CI). The server starts closing connections before its readiness turns
  // false, so a request written after readiness is seen false must be
  // answered with Connection: close.
  for (int i = 0; i < 1000; ++i) {
    if (Http(port, "GET", "/v2/health/ready").status != 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  signalled.store(true);
  EXPECT_EQ(server->Wait(15), 0) << server->Log();
  for (auto& t : clients) t.join();
  slow_client.join();
  EXPECT_EQ(slow.status, 200) << "the request in flight at SIGTERM: " << slow.body;
  std::printf("sent %d (%d before SIGTERM): %d ok, %d refused (503), %d lost\n", sent.load(),
              before, ok.load(), refused.load(), lost.load());
  EXPECT_GT(before, 200) << "the load was too light to mean anything";
  EXPECT_GT(after_signal.load(), 50);
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(ok.load() + refused.load(), sent.load());
  EXPECT_GT(refused.load(), 0) << "no request reached the refusing phase";
  EXPECT_EQ(refused_without_retry.load(), 0);
  EXPECT_EQ(drain_without_close.load(), 0);
  EXPECT_EQ(open_after_close.load(), 0);
}

}  // namespace
}  // namespace tide::testing
