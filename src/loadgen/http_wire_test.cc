#include "loadgen/http_wire.h"

#include "gtest/gtest.h"

namespace tide::loadgen {
namespace {

using State = HttpResponseParser::State;

TEST(ParseUrl, Table) {
  struct Case {
    const char* url;
    const char* host;
    uint16_t port;
    const char* path;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8000", "127.0.0.1", 8000, "/"},
      {"http://localhost", "localhost", 80, "/"},
      {"localhost:9000/prefix", "localhost", 9000, "/prefix"},
      {"http://[::1]:8000/x", "::1", 8000, "/x"},
  };
  for (const Case& c : cases) {
    auto u = ParseUrl(c.url);
    ASSERT_TRUE(u.ok()) << c.url << u.status();
    EXPECT_EQ(u->host, c.host);
    EXPECT_EQ(u->port, c.port);
    EXPECT_EQ(u->path, c.path);
  }
  for (const char* bad :
       {"https://x", "http://:80", "http://h:0", "http://h:99999", "http://h:x"}) {
    EXPECT_FALSE(ParseUrl(bad).ok()) << bad;
  }
}

TEST(SerializeRequest, HasHostAndLength) {
  Url u{"127.0.0.1", 8000, "/"};
  EXPECT_EQ(SerializeRequest("POST", u, "/v2/models/m/infer",
                             {{"Content-Type", "application/json"}}, "{}"),
            "POST /v2/models/m/infer HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(SerializeRequest("GET", u, "/", {}, ""),
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n");
}

TEST(HttpResponseParser, ContentLengthArrivingInPieces) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nInference-Header-Content-Length: 3\r\n"
      "Content-Type: application/octet-stream\r\n\r\nhello";
  HttpResponseParser p;
  for (size_t n = 0; n < wire.size(); ++n) {
    ASSERT_EQ(p.Parse(std::string_view(wire).substr(0, n)), State::kIncomplete) << n;
  }
  ASSERT_EQ(p.Parse(wire), State::kComplete);
  EXPECT_EQ(p.consumed(), wire.size());
  HttpResponse r = p.Take();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.inference_header_length, 3);
  EXPECT_EQ(r.content_type, "application/octet-stream");
}

TEST(HttpResponseParser, ChunkedBody) {
  const std::string wire =
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n";
  HttpResponseParser p;
  EXPECT_EQ(p.Parse(std::string_view(wire).substr(0, wire.size() - 1)), State::kIncomplete);
  ASSERT_EQ(p.Parse(wire), State::kComplete);
  EXPECT_EQ(p.consumed(), wire.size());
  HttpResponse r = p.Take();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "abcdefg");
}

TEST(HttpResponseParser, ConnectionCloseAndHttp10) {
  HttpResponseParser p;
  ASSERT_EQ(p.Parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
            State::kComplete);
  EXPECT_FALSE(p.Take().keep_alive);
  p.Reset();
  ASSERT_EQ(p.Parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), State::kComplete);
  EXPECT_FALSE(p.Take().keep_alive);
}

TEST(HttpResponseParser, BodyUntilEof) {
  HttpResponseParser p;
  const std::string wire = "HTTP/1.1 200 OK\r\n\r\nrest of it";
  EXPECT_EQ(p.Parse(wire), State::kIncomplete);
  ASSERT_EQ(p.Parse(wire, /*eof=*/true), State::kComplete);
  HttpResponse r = p.Take();
  EXPECT_EQ(r.body, "rest of it");
  EXPECT_FALSE(r.keep_alive);
}

TEST(HttpResponseParser, NoBodyStatuses) {
  HttpResponseParser p;
  EXPECT_EQ(p.Parse("HTTP/1.1 204 No Content\r\n\r\n"), State::kComplete);
}

TEST(HttpResponseParser, Errors) {
  struct Case {
    std::string wire;
    bool eof;
    const char* want;
  };
  const Case cases[] = {
      {"FTP/1.1 200 OK\r\n\r\n", false, "bad status line"},
      {"HTTP/1.1 abc OK\r\n\r\n", false, "bad status code"},
      {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, "Content-Length"},
      {"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", false, "header"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true, "closed inside body"},
      {"", true, "closed before response"},
      {"HTTP/1.1 200", true, "inside response head"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, "chunk size"},
  };
  for (const Case& c : cases) {
    HttpResponseParser p;
    ASSERT_EQ(p.Parse(c.wire, c.eof), State::kError) << c.wire;
    EXPECT_NE(p.error().find(c.want), std::string::npos) << p.error();
  }
}

}  // namespace
}  // namespace tide::loadgen
