#include "frontends/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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
  // Never read: the write stalls, and is given up a read timeout later.
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
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

}  // namespace
}  // namespace tide::http
