#include "http/connection.h"

#include "gtest/gtest.h"

namespace tide::httpc {
namespace {

Request Make(std::string method, std::string target) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

TEST(ClientConnection, PipelinedRequestsMatchTheirAnswers) {
  ClientConnection c;
  ASSERT_TRUE(c.Send(Make("GET", "/a"), "h:1").ok());
  ASSERT_TRUE(c.Send(Make("HEAD", "/b"), "h:1").ok());
  ASSERT_TRUE(c.Send(Make("GET", "/c"), "h:1").ok());
  EXPECT_EQ(c.output(),
            "GET /a HTTP/1.1\r\nHost: h:1\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h:1\r\n\r\n"
            "GET /c HTTP/1.1\r\nHost: h:1\r\n\r\n");
  c.Wrote(10);
  EXPECT_EQ(c.output().substr(0, 8), "P/1.1\r\nH");
  c.Wrote(c.output().size());
  EXPECT_EQ(c.outstanding(), 3u);
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"  // HEAD: no body
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc";
  // In two reads split inside the second head.
  ASSERT_TRUE(c.Receive(std::string_view(wire).substr(0, 50)).ok());
  EXPECT_TRUE(c.answer_started());
  ASSERT_TRUE(c.Receive(std::string_view(wire).substr(50)).ok());
  std::vector<std::string> bodies;
  while (c.has_response()) bodies.push_back(c.PopResponse().body);
  EXPECT_EQ(bodies, (std::vector<std::string>{"a", "", "c"}));
  EXPECT_EQ(c.outstanding(), 0u);
  EXPECT_TRUE(c.reusable());
}

TEST(ClientConnection, UnsolicitedBytesAreAnError) {
  ClientConnection c;
  absl::Status s = c.Receive("HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "17 bytes from the server with no request outstanding");
  EXPECT_FALSE(c.reusable());
  EXPECT_EQ(c.Send(Request(), "h:1").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ClientConnection, BytesAfterAClosingAnswer) {
  ClientConnection c;
  ASSERT_TRUE(c.Send(Request(), "h:1").ok());
  absl::Status s = c.Receive(
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n");
  EXPECT_EQ(s.message(), "17 bytes after a response that closes the connection");
  EXPECT_TRUE(c.has_response());
}

TEST(ClientConnection, BadFramingIsAnError) {
  ClientConnection c;
  ASSERT_TRUE(c.Send(Request(), "h:1").ok());
  absl::Status s = c.Receive("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "bad Content-Length '1, 2'");
  EXPECT_FALSE(c.has_response());
}

TEST(ClientConnection, EndOfConnection) {
  ClientConnection until_eof;
  ASSERT_TRUE(until_eof.Send(Request(), "h:1").ok());
  ASSERT_TRUE(until_eof.Receive("HTTP/1.1 200 OK\r\n\r\nall of it").ok());
  EXPECT_FALSE(until_eof.has_response());
  ASSERT_TRUE(until_eof.ReceiveEof().ok());
  ASSERT_TRUE(until_eof.has_response());
  EXPECT_EQ(until_eof.PopResponse().body, "all of it");
  EXPECT_FALSE(until_eof.reusable());

  ClientConnection two;
  ASSERT_TRUE(two.Send(Request(), "h:1").ok());
  ASSERT_TRUE(two.Send(Request(), "h:1").ok());
  ASSERT_TRUE(two.Receive("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").ok());
  absl::Status s = two.ReceiveEof();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "connection closed before response");
  EXPECT_TRUE(two.has_response());

  ClientConnection cut;
  ASSERT_TRUE(cut.Send(Request(), "h:1").ok());
  ASSERT_TRUE(cut.Receive("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab").ok());
  EXPECT_EQ(cut.ReceiveEof().message(), "connection closed inside body (2 of 4 bytes)");
}

TEST(ClientConnection, CloseRequestedEndsTheConnection) {
  ClientConnection c;
  Request r;
  r.keep_alive = false;
  ASSERT_TRUE(c.Send(r, "h:1").ok());
  EXPECT_EQ(c.Send(Request(), "h:1").code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tide::httpc
