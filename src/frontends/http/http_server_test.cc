#include "frontends/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tide::http {
namespace {

// A blocking socket to 127.0.0.1 for exact, byte-level HTTP tests.
class Raw {
 public:
  explicit Raw(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~Raw() { close(fd_); }
  void Send(const std::string& s) {
    ASSERT_EQ(send(fd_, s.data(), s.size(), MSG_NOSIGNAL), (ssize_t)s.size());
  }
  // Reads until `needle` has been seen `times` times, the peer closes, or 5 s pass.
  std::string ReadUntil(const std::string& needle, int times = 1) {
    std::string out;
    for (int waited = 0; waited < 5000;) {
      size_t count = 0;
      for (size_t p = out.find(needle); p != std::string::npos; p = out.find(needle, p + 1))
        ++count;
      if (static_cast<int>(count) >= times) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) == 0) {
        waited += 50;
        continue;
      }
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, n);
    }
    return out;
  }
  // Sends what the peer has not shut down yet, then half-closes.
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }
  // Reads exactly `n` bytes (or until the peer closes or 5 s pass), slowly
  // if `pause_ms` > 0 so that the server's socket buffer fills up.
  std::string ReadBytes(size_t n, int pause_ms = 0) {
    std::string out;
    for (int waited = 0; out.size() < n && waited < 5000;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) == 0) {
        waited += 50;
        continue;
      }
      char buf[65536];
      ssize_t got = recv(fd_, buf, std::min(sizeof(buf), n - out.size()), 0);
      if (got <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, got);
      if (pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    }
    return out;
  }
  bool connected() const { return connected_; }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

// Echoes "<method> <path> <body>" back; answers after `delay` on a thread.
std::unique_ptr<HttpServer> Start(HttpServer::Options o = {}) {
  o.host = "127.0.0.1";
  o.port = 0;
  if (!o.handler) {
    o.handler = [](HttpRequest r, Responder respond) {
      std::thread([r = std::move(r), respond = std::move(respond)] {
        HttpResponse resp;
        resp.content_type = "text/plain";
        resp.body = absl::StrCat(r.method, " ", r.path, " ", r.body);
        respond(std::move(resp));
      }).detach();
    };
  }
  auto s = HttpServer::Create(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST(HttpServer, KeepAliveAndPipeliningAnswerInOrder) {
  auto server = Start();
  Raw c(server->port());
  ASSERT_TRUE(c.connected());
  c.Send(
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n22"
      "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = c.ReadUntil("GET /c ");  // the last of the three, in order
  EXPECT_EQ(Count(out, "HTTP/1.1 200 OK"), 3u);
  size_t a = out.find("POST /a 1"), b = out.find("POST /b 22"), g = out.find("GET /c ");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(g, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, g);
  EXPECT_FALSE(c.closed());
}

TEST(HttpServer, ChunkedBodyAndExpectContinue) {
  auto server = Start();
  Raw c(server->port());
  c.Send(
      "POST /chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_NE(c.ReadUntil("abcde").find("POST /chunk abcde"), std::string::npos);
  c.Send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  std::string cont = c.ReadUntil("100 Continue");
  EXPECT_EQ(cont.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << cont;
  c.Send("body");
  EXPECT_NE(c.ReadUntil("POST /e body").find("POST /e body"), std::string::npos);
}

TEST(HttpServer, LimitsGiveClearErrors) {
  HttpServer::Options o;
  o.max_body_bytes = 10;
  o.max_header_bytes = 256;
  auto server = Start(std::move(o));
  {
    Raw c(server->port());
    c.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
    std::string out = c.ReadUntil("}");
    EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
    EXPECT_NE(
        out.find(
            R"x({"error":"request body of 11 bytes is over the limit of 10 bytes (--max-body-bytes)"})x"),
        std::string::npos)
        << out;
  }
  {
    Raw c(server->port());
    c.Send(
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
        "chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
    std::string out = c.ReadUntil("}");
    EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  }
  {
    Raw c(server->port());
    c.Send("GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(400, 'a') + "\r\n\r\n");
    std::string out = c.ReadUntil("}");
    EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out;
  }
  {
    Raw c(server->port());
    c.Send("NOT HTTP AT ALL\r\n\r\n");
    std::string out = c.ReadUntil("}");
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
    EXPECT_NE(out.find("malformed HTTP request"), std::string::npos);
  }
}

TEST(HttpServer, SlowClientIsCutOff) {
  HttpServer::Options o;
  o.read_timeout = absl::Milliseconds(200);
  auto server = Start(std::move(o));
  Raw c(server->port());
  c.Send("GET /slow HTTP/1.1\r\nHost: x\r\n");  // never finishes its headers
  absl::Time start = absl::Now();
  std::string out = c.ReadUntil("never");
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(out, "");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(HttpServer, ConnectionLimitRefusesWith503) {
  HttpServer::Options o;
  o.max_connections = 1;
  o.reserved_connections = 0;
  auto server = Start(std::move(o));
  Raw first(server->port());
  first.Send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(first.ReadUntil("GET /1").find("200 OK"), std::string::npos);
  Raw second(server->port());
  std::string out = second.ReadUntil("}");
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
  EXPECT_NE(out.find("Retry-After: 1"), std::string::npos);
}

TEST(HttpServer, LargeResponseToASlowReaderArrivesWholeAndInOrder) {
  // 8 MiB does not fit the socket buffers: the worker thread's write stops
  // part-way and the I/O thread finishes it when the client reads on.
  const std::string big(8 << 20, 'x');
  HttpServer::Options o;
  o.handler = [&big](HttpRequest r, Responder respond) {
    std::thread([&big, path = r.path, respond = std::move(respond)] {
      HttpResponse resp;
      resp.content_type = "text/plain";
      resp.body = path == "/big" ? big : "small " + path;
      respond(std::move(resp));
    }).detach();
  };
  auto server = Start(std::move(o));
  Raw c(server->port());
  c.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string head = c.ReadUntil("\r\n\r\n");
  size_t end = head.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << head;
  EXPECT_NE(head.find("Content-Length: 8388608\r\n"), std::string::npos) << head;
  std::string body = head.substr(end + 4);
  body += c.ReadBytes(big.size() - body.size(), /*pause_ms=*/1);
  ASSERT_EQ(body.size(), big.size());
  EXPECT_EQ(body, big);
  EXPECT_NE(c.ReadUntil("small /after").find("small /after"), std::string::npos);
  EXPECT_TRUE(server->WaitForResponses(absl::Seconds(5)));
}

TEST(HttpServer, HeadHasNoBodyAndHttp10KeepsAliveOnlyWhenAsked) {
  auto server = Start();
  {
    Raw c(server->port());
    c.Send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string out = c.ReadUntil("GET /g ");
    // HEAD /h's length is announced, its body is not sent: the next response follows at once.
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("Content-Length: 8\r\n\r\nHTTP/1.1 200 OK\r\n"), std::string::npos) << out;
  }
  {
    Raw c(server->port());
    c.Send("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    std::string out = c.ReadUntil("GET /ka ");
    EXPECT_EQ(out.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("Connection: keep-alive\r\n"), std::string::npos) << out;
    c.Send("GET /once HTTP/1.0\r\n\r\n");
    out = c.ReadUntil("never");
    EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("GET /once "), std::string::npos) << out;
    EXPECT_TRUE(c.closed());
  }
}

TEST(HttpServer, HalfClosedClientGetsItsAnswerThenTheServerCloses) {
  auto server = Start();
  Raw c(server->port());
  c.Send("POST /hc HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
  c.ShutdownWrite();
  absl::Time start = absl::Now();
  std::string out = c.ReadUntil("never");
  EXPECT_NE(out.find("POST /hc ok"), std::string::npos) << out;
  EXPECT_TRUE(c.closed());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));  // not the 30 s read timeout
}

TEST(HttpServer, ClientGoneBeforeItsAnswerIsNotPendingForever) {
  HttpServer::Options o;
  o.handler = [](HttpRequest, Responder respond) {
    std::thread([respond = std::move(respond)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      respond(HttpResponse{});
    }).detach();
  };
  auto server = Start(std::move(o));
  {
    Raw c(server->port());
    c.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }  // closed while the handler works
  EXPECT_FALSE(server->WaitForResponses(absl::Milliseconds(20)));
  EXPECT_TRUE(server->WaitForResponses(absl::Seconds(5)));
  for (int i = 0; i < 100 && server->connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server->connections(), 0);
}

// Answers on the I/O thread itself, as health and metadata handlers do.
void InlineEcho(HttpRequest r, Responder respond) {
  HttpResponse resp;
  resp.content_type = "text/plain";
  resp.body = absl::StrCat(r.method, " ", r.path, " ", r.body);
  respond(std::move(resp));
}

// RFC 9112 §3.2: an HTTP/1.1 request without Host, or any with two, is
// refused (400, then close); §3.2.2: a request-target in absolute form is
// accepted and routed by its path.
TEST(HttpServer, HostIsRequiredAndAbsoluteFormTargetsAreRoutedByTheirPath) {
  HttpServer::Options o;
  o.handler = InlineEcho;
  auto server = Start(std::move(o));
  auto exchange = [&](const std::string& request) {
    Raw c(server->port());
    c.Send(request);
    return c.ReadUntil("never");
  };
  for (const auto& [request, why] : std::vector<std::pair<std::string, std::string>>{
           {"GET /a HTTP/1.1\r\n\r\n", "no Host field (HTTP/1.1 requires one)"},
           {"GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "more than one Host field"},
           {"GET /a HTTP/1.0\r\nHost: x\r\nHost: x\r\n\r\n", "more than one Host field"}}) {
    SCOPED_TRACE(request);
    std::string out = exchange(request);
    EXPECT_EQ(out.rfind("HTTP/1.", 0), 0u) << out;
    EXPECT_EQ(out.find(" 400 Bad Request\r\n"), 8u) << out;
    EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("{\"error\":\"malformed HTTP request: " + why + "\"}"), std::string::npos)
        << out;
  }
  // HTTP/1.0 may leave Host out.
  std::string out = exchange("GET /a HTTP/1.0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("\r\n\r\nGET /a "), std::string::npos) << out;
  for (const auto& [target, path] : std::vector<std::pair<std::string, std::string>>{
           {"http://example.com:8000/v2/models/m/ready?x=1", "/v2/models/m/ready"},
           {"HTTPS://example.com/v2", "/v2"},
           {"http://example.com", "/"},
           {"http://example.com?x=/y", "/"}}) {
    SCOPED_TRACE(target);
    out = exchange("GET " + target + " HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("\r\n\r\nGET " + path + " "), std::string::npos) << out;
  }
}

TEST(HttpServer, PipelinedRequestsAnsweredInlineDoNotWaitForTheSweep) {
  HttpServer::Options o;
  o.handler = InlineEcho;
  auto server = Start(std::move(o));
  Raw c(server->port());
  std::string reqs;
  for (int i = 0; i < 20; ++i) reqs += absl::StrCat("GET /", i, " HTTP/1.1\r\nHost: x\r\n\r\n");
  absl::Time start = absl::Now();
  c.Send(reqs);
  std::string out = c.ReadUntil("GET /19 ");
  EXPECT_EQ(Count(out, "HTTP/1.1 200 OK"), 20u) << out;
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));  // not 100 ms per request
}

TEST(HttpServer, ErrorAfterAHeadRequestKeepsItsBody) {
  HttpServer::Options o;
  o.handler = InlineEcho;
  o.max_body_bytes = 10;
  auto server = Start(std::move(o));
  Raw c(server->port());
  c.Send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
  c.ReadUntil("\r\n\r\n");
  c.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n");
  std::string out = c.ReadUntil("}");
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_NE(out.find(R"({"error":"request body of 11 bytes)"), std::string::npos) << out;
}

TEST(HttpServer, ClientThatNeverReadsItsResponseIsCutOff) {
  HttpServer::Options o;
  o.read_timeout = absl::Milliseconds(200);
  o.handler = [](HttpRequest, Responder respond) {
    HttpResponse resp;
    resp.body = std::string(32 << 20, 'x');  // far more than the socket buffers hold
    respond(std::move(resp));
  };
  auto server = Start(std::move(o));
  Raw c(server->port());
  c.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  // Never read: the write stalls, and is given up a read timeout later. Up
  // to 10 s for it: under ctest -j2 on 2 busy cores, 3 s was once too short.
  bool gone = false;
  for (int i = 0; i < 1000 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    gone = server->connections() == 0;
  }
  EXPECT_TRUE(gone);
  EXPECT_TRUE(server->WaitForResponses(absl::Milliseconds(100)));
}

TEST(SerializeResponseHead, ExactBytes) {
  HttpResponse r = ErrorResponse(503, "busy", 1);
  EXPECT_EQ(SerializeResponseHead(r, 11, /*close=*/false, r.body.size()),
            "HTTP/1.1 503 Service Unavailable\r\nServer: tide\r\nContent-Type: "
            "application/json\r\nContent-Length: 16\r\nRetry-After: 1\r\n\r\n");
  HttpResponse ok;
  ok.content_type = "application/octet-stream";
  EXPECT_EQ(SerializeResponseHead(ok, 10, /*close=*/false, 40),
            "HTTP/1.0 200 OK\r\nServer: tide\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: 40\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(SerializeResponseHead(ok, 11, /*close=*/true, 0),
            "HTTP/1.1 200 OK\r\nServer: tide\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(HttpServer, PathKeepsEscapesAndDropsQuery) {
  auto server = Start();
  Raw c(server->port());
  c.Send("GET /v2/models/a%2Fb?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.ReadUntil("a%2Fb").find("GET /v2/models/a%2Fb "), std::string::npos);
}

// RFC 9112 §6: how a request's body is framed. Each case is followed on the
// same connection by "GET /after": a request refused for its framing is
// answered 400 and the connection closed, so nothing after it is read as a
// request (no desync).
TEST(HttpServer, MessageFramingFollowsRfc9112Section6) {
  struct Case {
    std::string name, head, body;
    int status;               // 200: echoed, then /after answered too; 400: refused, then closed
    std::string echoed = "";  // the body the handler saw (200 only)
  };
  const std::string chunked_abc = "3\r\nabc\r\n0\r\n\r\n";
  const std::vector<Case> cases = {
      {"content-length", "HTTP/1.1\r\nContent-Length: 3", "abc", 200, "abc"},
      {"identical content-length list (RFC 9110 §8.6)", "HTTP/1.1\r\nContent-Length: 3, 3", "abc",
       200, "abc"},
      {"no framing: no body", "HTTP/1.1", "", 200, ""},
      {"chunked", "HTTP/1.1\r\nTransfer-Encoding: chunked", chunked_abc, 200, "abc"},
      {"chunked, any case", "HTTP/1.1\r\nTransfer-Encoding: ChUnKeD", chunked_abc, 200, "abc"},
      {"chunked with OWS and empty list elements", "HTTP/1.1\r\nTransfer-Encoding: ,\tchunked ",
       chunked_abc, 200, "abc"},
      // §6.3 (4): chunked is not the final coding.
      {"chunked, identity", "HTTP/1.1\r\nTransfer-Encoding: chunked, identity",
       "GET /v2/models/smuggled/ready HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"identity", "HTTP/1.1\r\nTransfer-Encoding: identity", "abc", 400},
      {"gzip", "HTTP/1.1\r\nTransfer-Encoding: gzip", "abc", 400},
      {"xchunked", "HTTP/1.1\r\nTransfer-Encoding: xchunked", "abc", 400},
      {"chunked split over two fields, then identity",
       "HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity", chunked_abc, 400},
      {"empty transfer-encoding", "HTTP/1.1\r\nTransfer-Encoding: ", "abc", 400},
      // §6.1: codings tide does not implement; chunked applied twice.
      {"gzip, chunked", "HTTP/1.1\r\nTransfer-Encoding: gzip, chunked", chunked_abc, 400},
      {"gzip then chunked in two fields",
       "HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked", chunked_abc, 400},
      {"chunked, chunked", "HTTP/1.1\r\nTransfer-Encoding: chunked, chunked", chunked_abc, 400},
      // §6.3 (3): both Transfer-Encoding and Content-Length, in either order.
      {"chunked then content-length", "HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3",
       chunked_abc, 400},
      {"content-length then chunked", "HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked",
       chunked_abc, 400},
      {"identity then content-length",
       "HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 3", "abc", 400},
      // §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
      {"HTTP/1.0 with chunked", "HTTP/1.0\r\nTransfer-Encoding: chunked", chunked_abc, 400},
      // §6.3 (5): an invalid Content-Length.
      {"differing content-length list", "HTTP/1.1\r\nContent-Length: 3, 4", "abcd", 400},
      {"two differing content-length fields", "HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4",
       "abcd", 400},
      {"negative content-length", "HTTP/1.1\r\nContent-Length: -1", "abc", 400},
      {"non-numeric content-length", "HTTP/1.1\r\nContent-Length: 3a", "abc", 400},
      {"signed content-length", "HTTP/1.1\r\nContent-Length: +3", "abc", 400},
      // §7.1: a bad chunk size.
      {"bad chunk size", "HTTP/1.1\r\nTransfer-Encoding: chunked", "zz\r\nabc\r\n0\r\n\r\n", 400},
      // §5.1: whitespace between a field name and the colon.
      {"space before colon", "HTTP/1.1\r\nTransfer-Encoding : chunked", chunked_abc, 400},
  };
  std::atomic<int> smuggled{0};
  HttpServer::Options o;
  o.handler = [&smuggled](HttpRequest r, Responder respond) {
    if (r.path.find("smuggled") != std::string::npos) smuggled.fetch_add(1);
    InlineEcho(std::move(r), std::move(respond));
  };
  auto server = Start(std::move(o));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Raw conn(server->port());
    ASSERT_TRUE(conn.connected());
    conn.Send("POST /v2/health/live " + c.head + "\r\nHost: x\r\n\r\n" + c.body +
              "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string out = conn.ReadUntil(c.status == 200 ? "GET /after " : "never");
    if (c.status == 200) {
      EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
      EXPECT_NE(out.find("POST /v2/health/live " + c.echoed + "HTTP/1.1 200"), std::string::npos)
          << out;
      EXPECT_EQ(Count(out, "HTTP/1.1 200 OK"), 2u) << out;
    } else {
      EXPECT_EQ(out.find(" 400 Bad Request\r\n"), 8u) << out;
      EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
      EXPECT_NE(out.find(R"({"error":"malformed HTTP request: )"), std::string::npos) << out;
      EXPECT_EQ(Count(out, "Server: tide\r\n"), 1u) << out;  // nothing after it was answered
      EXPECT_TRUE(conn.closed());
    }
  }
  EXPECT_EQ(smuggled.load(), 0);
}

TEST(HttpServer, RefusedFramingNamesTheReason) {
  auto server = Start();
  Raw c(server->port());
  c.Send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\nabc");
  std::string out = c.ReadUntil("}");
  EXPECT_NE(
      out.find(R"({"error":"malformed HTTP request: the final transfer coding is 'identity', )"
               R"(not chunked: the body's length cannot be determined"})"),
      std::string::npos)
      << out;
  Raw d(server->port());
  d.Send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  out = d.ReadUntil("}");
  EXPECT_NE(out.find("transfer coding 'gzip' is not supported (tide implements chunked only)"),
            std::string::npos)
      << out;
}

TEST(HttpServer, HealthChecksAreAnsweredOverTheConnectionCap) {
  HttpServer::Options o;
  o.max_connections = 2;
  o.reserved_connections = 2;
  o.reserved_paths = {"/v2/health/live"};
  o.handler = InlineEcho;
  auto server = Start(std::move(o));
  Raw a(server->port()), b(server->port());  // the cap, idle
  for (int i = 0; i < 100 && server->connections() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Raw probe(server->port());  // over the cap, in the reserve
  probe.Send("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = probe.ReadUntil("never");
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("GET /v2/health/live "), std::string::npos) << out;
  EXPECT_TRUE(probe.closed());

  Raw other(server->port());  // in the reserve, but not a health check
  other.Send("POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  out = other.ReadUntil("}");
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
  EXPECT_NE(out.find("too many connections"), std::string::npos) << out;

  Raw r1(server->port()), r2(server->port());  // fill the reserve
  for (int i = 0; i < 100 && server->connections() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Raw beyond(server->port());  // beyond cap and reserve: refused without reading
  out = beyond.ReadUntil("}");
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
}

TEST(HttpServer, ResponsesAndTimeoutsAreReported) {
  std::mutex mu;
  std::map<int, int> statuses;
  std::map<HttpServer::Options::Timeout, int> timeouts;
  HttpServer::Options o;
  o.max_body_bytes = 10;
  o.max_header_bytes = 256;
  o.max_connections = 1;
  o.reserved_connections = 0;
  o.read_timeout = absl::Milliseconds(200);
  o.handler = InlineEcho;
  o.on_response = [&](int status) {
    std::lock_guard<std::mutex> lock(mu);
    ++statuses[status];
  };
  o.on_timeout = [&](HttpServer::Options::Timeout t) {
    std::lock_guard<std::mutex> lock(mu);
    ++timeouts[t];
  };
  auto server = Start(std::move(o));
  auto one = [&](const std::string& request) {
    std::string out;
    {
      Raw c(server->port());
      c.Send(request);
      out = c.ReadUntil("never");
    }
    for (int i = 0; i < 200 && server->connections() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return out;
  };
  one("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n");                   // 413
  one("GET /x HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(400, 'a') + "\r\n\r\n");  // 431
  one("NOT HTTP\r\n\r\n");                                                            // 400
  one("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n");          // 400
  EXPECT_NE(one("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").find("200 OK"),
            std::string::npos);  // idle cut
  {
    Raw slow(server->port());
    slow.Send("GET /slow HTTP/1.1\r\n");  // never finishes: read timeout
    Raw extra(server->port());            // over the cap while `slow` is open: 503
    extra.ReadUntil("never");
    slow.ReadUntil("never");
  }
  for (int i = 0; i < 200 && server->connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard<std::mutex> lock(mu);
  // The handler's answer (200) and the transport's own, each once.
  EXPECT_EQ(statuses, (std::map<int, int>{{200, 1}, {400, 2}, {413, 1}, {431, 1}, {503, 1}}));
  EXPECT_EQ(timeouts[HttpServer::Options::Timeout::kIdle], 1);
  EXPECT_EQ(timeouts[HttpServer::Options::Timeout::kRead], 1);
  EXPECT_EQ(timeouts[HttpServer::Options::Timeout::kWrite], 0);
}

TEST(HttpServer, DrainClosesEachConnectionAfterItsResponse) {
  HttpServer::Options o;
  o.handler = InlineEcho;
  auto server = Start(std::move(o));
  Raw c(server->port());
  c.Send("GET /before HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = c.ReadUntil("GET /before ");
  EXPECT_EQ(out.find("Connection: close"), std::string::npos) << out;
  server->BeginDrain();
  c.Send("GET /during HTTP/1.1\r\nHost: x\r\n\r\n");
  out = c.ReadUntil("never");
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("GET /during "), std::string::npos) << out;
  EXPECT_TRUE(c.closed());
}

// --max-connection-age: a connection is closed after its first response
// once it is older than the limit (within ±10 %), never before.
TEST(HttpServer, ConnectionOlderThanTheMaxAgeIsClosedAfterItsNextResponse) {
  HttpServer::Options o;
  o.handler = InlineEcho;
  o.max_connection_age = absl::Seconds(1);
  std::atomic<int> aged{0};
  o.on_timeout = [&](HttpServer::Options::Timeout t) {
    if (t == HttpServer::Options::Timeout::kAge) ++aged;
  };
  auto server = Start(std::move(o));
  auto t0 = std::chrono::steady_clock::now();
  Raw c(server->port());
  c.Send("GET /young HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = c.ReadUntil("GET /young ");
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos) << out;
  EXPECT_EQ(out.find("Connection: close"), std::string::npos) << out;
  std::this_thread::sleep_until(t0 + std::chrono::milliseconds(300));  // below 0.9 s
  c.Send("GET /still HTTP/1.1\r\nHost: x\r\n\r\n");
  out = c.ReadUntil("GET /still ");
  EXPECT_EQ(out.find("Connection: close"), std::string::npos) << out;
  EXPECT_FALSE(c.closed());
  std::this_thread::sleep_until(t0 + std::chrono::milliseconds(1400));  // above 1.1 s
  EXPECT_FALSE(c.closed());  // an idle connection is not closed for its age
  c.Send("GET /old HTTP/1.1\r\nHost: x\r\n\r\n");
  out = c.ReadUntil("never");
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("GET /old "), std::string::npos) << out;
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(aged.load(), 1);
  // Requests already pipelined behind the one that would close it are not
  // dropped: the connection closes after the last of them.
  Raw p(server->port());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // above 1.1 s
  p.Send(
      "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /p2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /p3 HTTP/1.1\r\nHost: x\r\n\r\n");
  out = p.ReadUntil("never");
  EXPECT_EQ(Count(out, "HTTP/1.1 200 OK"), 3u) << out;
  EXPECT_EQ(Count(out, "Connection: close"), 1u) << out;
  EXPECT_LT(out.find("GET /p2 "), out.find("Connection: close")) << out;
  EXPECT_NE(out.find("GET /p3 "), std::string::npos) << out;
  EXPECT_TRUE(p.closed());
  EXPECT_EQ(aged.load(), 2);
  // A new connection starts young.
  Raw d(server->port());
  d.Send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  out = d.ReadUntil("GET /next ");
  EXPECT_EQ(out.find("Connection: close"), std::string::npos) << out;
  EXPECT_FALSE(d.closed());
}

TEST(HttpServer, ShutdownAnswersInFlightAndLateRequestsThenCloses) {
  HttpServer::Options o;
  o.handler = [](HttpRequest r, Responder respond) {
    std::thread([r = std::move(r), respond = std::move(respond)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(r.path == "/slow" ? 300 : 0));
      HttpResponse resp;
      resp.content_type = "text/plain";
      resp.body = absl::StrCat(r.method, " ", r.path, " ", r.body);
      respond(std::move(resp));
    }).detach();
  };
  auto server = Start(std::move(o));
  const uint16_t port = server->port();
  auto busy = std::make_unique<Raw>(port), idle = std::make_unique<Raw>(port),
       late = std::make_unique<Raw>(port);
  busy->Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  late->Send("GET /late HTTP/1.1\r\nHost: x\r");  // a request half-sent when shutdown begins
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  absl::Time start = absl::Now();
  bool clean = false;
  std::thread shutdown([&] { clean = server->Shutdown(absl::Seconds(3)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  late->Send("\n\r\n");
  // Clients close once they have read a response that says Connection: close.
  std::string out = busy->ReadUntil("never");
  EXPECT_NE(out.find("GET /slow "), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
  busy.reset();
  out = late->ReadUntil("never");
  EXPECT_NE(out.find("GET /late "), std::string::npos) << out;
  late.reset();
  EXPECT_EQ(idle->ReadUntil("never"), "");  // idle: closed without a word
  EXPECT_TRUE(idle->closed());
  idle.reset();
  shutdown.join();
  EXPECT_TRUE(clean);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  Raw after(port);  // the listener is closed
  EXPECT_FALSE(after.connected());
}

}  // namespace
}  // namespace tide::http
