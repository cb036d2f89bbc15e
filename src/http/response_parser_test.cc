#include "http/response_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tide::httpc {
namespace {

using State = ResponseParser::State;

// Feeds `wire` in two pieces split at `at`; returns the state and the bytes used.
State FeedSplit(ResponseParser& p, std::string_view wire, size_t at, size_t* used) {
  *used = p.Feed(wire.substr(0, at));
  if (p.state() == State::kIncomplete) *used += p.Feed(wire.substr(*used));
  return p.state();
}

TEST(ResponseParser, ContentLengthSplitAtEveryByte) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nInference-Header-Content-Length: 3\r\n"
      "content-type: application/octet-stream\r\n\r\nhello";
  for (size_t at = 0; at <= wire.size(); ++at) {
    ResponseParser p;
    size_t used;
    ASSERT_EQ(FeedSplit(p, wire, at, &used), State::kComplete) << at;
    EXPECT_EQ(used, wire.size());
    Response r = p.Take();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.reason, "OK");
    EXPECT_EQ(r.version_minor, 1);
    EXPECT_EQ(r.body, "hello");
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(r.headers.size(), 3u);
    EXPECT_EQ(r.headers.GetOr("Content-Type"), "application/octet-stream");
    EXPECT_EQ(r.headers.GetOr("INFERENCE-HEADER-CONTENT-LENGTH"), "3");
    EXPECT_EQ(r.headers.name(2), "content-type");
  }
}

TEST(ResponseParser, ByteByByte) {
  const std::string wire =
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;name=value\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Checksum: 7\r\n\r\n";
  ResponseParser p;
  for (size_t i = 0; i < wire.size(); ++i) {
    ASSERT_EQ(p.state(), State::kIncomplete) << i;
    ASSERT_EQ(p.Feed(std::string_view(wire).substr(i, 1)), 1u) << i;
  }
  ASSERT_EQ(p.state(), State::kComplete);
  Response r = p.Take();
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "abcdefg");
  EXPECT_EQ(r.trailers.GetOr("x-checksum"), "7");
}

TEST(ResponseParser, ChunkedWithExtensionsAndTrailersSplitAtEveryByte) {
  const std::string wire =
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: gzip, chunked\r\n"
      "Content-Length: 99\r\n\r\n"
      "A ; ext=\"q\"\r\n0123456789\r\n1;a;b=c\r\nX\r\n0;last\r\nX-Trailer: 1\r\nX-Two:  2 \r\n\r\n";
  for (size_t at = 0; at <= wire.size(); ++at) {
    ResponseParser p;
    size_t used;
    ASSERT_EQ(FeedSplit(p, wire, at, &used), State::kComplete) << at << " " << p.error();
    EXPECT_EQ(used, wire.size());
    Response r = p.Take();
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, "0123456789X");
    ASSERT_EQ(r.trailers.size(), 2u);
    EXPECT_EQ(r.trailers.GetOr("X-Trailer"), "1");
    EXPECT_EQ(r.trailers.GetOr("x-two"), "2");
    EXPECT_TRUE(r.keep_alive);
  }
}

TEST(ResponseParser, PipelinedResponsesStopAtEachEnd) {
  const std::string a = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab";
  const std::string b =
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n";
  const std::string c = "HTTP/1.1 204 No Content\r\n\r\n";
  const std::string wire = a + b + c;
  ResponseParser p;
  std::string_view rest = wire;
  std::vector<std::pair<int, std::string>> got;
  while (!rest.empty()) {
    rest.remove_prefix(p.Feed(rest));
    ASSERT_EQ(p.state(), State::kComplete);
    Response r = p.Take();
    got.emplace_back(r.status, r.body);
  }
  EXPECT_EQ(got, (std::vector<std::pair<int, std::string>>{{200, "ab"}, {404, "c"}, {204, ""}}));
  EXPECT_EQ(p.Feed(""), 0u);
  EXPECT_FALSE(p.started());
}

TEST(ResponseParser, HeadAnswerHasNoBody) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
      "1\r\n\r\nx";
  ResponseParser p;
  p.set_head_request(true);
  size_t used = p.Feed(wire);
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(used, 41u);
  EXPECT_EQ(p.Take().body, "");
  // Take() forgets HEAD: the next answer has its body.
  EXPECT_EQ(p.Feed(std::string_view(wire).substr(used)), wire.size() - used);
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_EQ(p.Take().body, "x");
}

TEST(ResponseParser, InterimResponsesAreSkipped) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (size_t at = 0; at <= wire.size(); ++at) {
    ResponseParser p;
    size_t used;
    ASSERT_EQ(FeedSplit(p, wire, at, &used), State::kComplete) << at;
    EXPECT_EQ(used, wire.size());
    Response r = p.Take();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ok");
    EXPECT_FALSE(r.headers.Has("link"));
  }
}

TEST(ResponseParser, SwitchingProtocolsCompletesWithoutBody) {
  ResponseParser p;
  EXPECT_EQ(p.Feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nraw"), 48u);
  ASSERT_EQ(p.state(), State::kComplete);
  EXPECT_FALSE(p.Take().keep_alive);
}

TEST(ResponseParser, KeepAliveRules) {
  struct Case {
    const char* wire;
    bool keep_alive;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 304 Not Modified\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", true},
  };
  for (const Case& c : cases) {
    ResponseParser p;
    EXPECT_EQ(p.Feed(c.wire), std::string_view(c.wire).size()) << c.wire;
    ASSERT_EQ(p.state(), State::kComplete) << c.wire;
    EXPECT_EQ(p.Take().keep_alive, c.keep_alive) << c.wire;
  }
}

TEST(ResponseParser, BodyUntilEof) {
  for (const char* head :
       {"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"}) {
    ResponseParser p;
    std::string wire = std::string(head) + "rest of it";
    EXPECT_EQ(p.Feed(wire), wire.size());
    EXPECT_EQ(p.state(), State::kIncomplete);
    ASSERT_EQ(p.FinishEof(), State::kComplete);
    Response r = p.Take();
    EXPECT_EQ(r.body, "rest of it");
    EXPECT_FALSE(r.keep_alive);
  }
}

TEST(ResponseParser, Errors) {
  struct Case {
    std::string wire;
    bool eof;
    const char* error;
  };
  const Case cases[] = {
      {"FTP/1.1 200 OK\r\n\r\n", false, "bad status line 'FTP/1.1 200 OK'"},
      {"HTTP/1.1 2x0 OK\r\n\r\n", false, "bad status code in 'HTTP/1.1 2x0 OK'"},
      {"HTTP/1.1 2000 OK\r\n\r\n", false, "bad status code in 'HTTP/1.1 2000 OK'"},
      {"HTTP/1.1 099 Low\r\n\r\n", false, "bad status code 99"},
      {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, "bad Content-Length 'x'"},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, "bad Content-Length '-1'"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false,
       "conflicting Content-Length values"},
      {"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", false, "header line without a colon: 'nocolon'"},
      {"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n", false, "bad character in header name 'Bad Name'"},
      {"HTTP/1.1 200 OK\r\n: 1\r\n\r\n", false, "empty header name"},
      {"HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n", false, "obsolete line folding in header"},
      {"HTTP/1.1 200 OK\r\nA: 1\n2\r\n\r\n", false, "bad character in the value of header 'A'"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true,
       "connection closed inside body (3 of 10 bytes)"},
      {"", true, "connection closed before response"},
      {"HTTP/1.1 200", true, "connection closed inside response head"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, "bad chunk size 'zz'"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\n", false, "bad chunk size '3x'"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", false,
       "chunk size too large"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY", false,
       "missing CRLF after chunk data"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n", true,
       "connection closed inside chunked body"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", false,
       "trailer: header line without a colon: 'bad trailer'"},
  };
  for (const Case& c : cases) {
    ResponseParser p;
    p.Feed(c.wire);
    if (c.eof) p.FinishEof();
    ASSERT_EQ(p.state(), State::kError) << c.wire;
    EXPECT_EQ(p.error(), c.error) << c.wire;
  }
}

TEST(ResponseParser, SizeLimits) {
  ParserLimits limits;
  limits.max_head_bytes = 64;
  limits.max_body_bytes = 8;
  struct Case {
    std::string wire;
    const char* error;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nX: " + std::string(60, 'a'), "response head over 64 bytes"},
      {"HTTP/1.1 200 OK\r\nX: " + std::string(60, 'a') + "\r\n\r\n", "response head over 64 bytes"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "body of 9 bytes over the limit of 8"},
      {"HTTP/1.1 200 OK\r\n\r\n123456789", "body over the limit of 8 bytes"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n",
       "body over the limit of 8 bytes"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + std::string(70, 'b'),
       "trailers over 64 bytes"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + std::string(5000, 'e'),
       "chunk size line over 4096 bytes"},
  };
  for (const Case& c : cases) {
    // Whole, and a byte at a time: the same verdict.
    for (bool bytewise : {false, true}) {
      ResponseParser p(limits);
      if (bytewise) {
        for (size_t i = 0; i < c.wire.size() && p.state() == State::kIncomplete; ++i) {
          p.Feed(std::string_view(c.wire).substr(i, 1));
        }
      } else {
        p.Feed(c.wire);
      }
      ASSERT_EQ(p.state(), State::kError) << c.wire << " bytewise=" << bytewise;
      EXPECT_EQ(p.error(), c.error) << bytewise;
    }
  }
  // Exactly at the limits is fine.
  ResponseParser p(limits);
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n12345678";
  EXPECT_EQ(p.Feed(ok), ok.size());
  EXPECT_EQ(p.state(), State::kComplete);
  // A chunk-size line of exactly 4096 bytes, byte by byte: the CR that
  // arrives alone is half of the line's end, not over the limit.
  const std::string line = "1;" + std::string(4094, 'e') + "\r\nz\r\n0\r\n\r\n";
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + line;
  ResponseParser q;
  for (char c : chunked) q.Feed(std::string_view(&c, 1));
  ASSERT_EQ(q.state(), State::kComplete) << q.error();
  EXPECT_EQ(q.Take().body, "z");
}

TEST(ResponseParser, ResetForgetsAHalfResponse) {
  ResponseParser p;
  p.Feed("HTTP/1.1 200 OK\r\nContent-Le");
  EXPECT_TRUE(p.started());
  p.Reset();
  EXPECT_FALSE(p.started());
  const std::string wire = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(p.Feed(wire), wire.size());
  EXPECT_EQ(p.Take().status, 202);
}

}  // namespace
}  // namespace tide::httpc
