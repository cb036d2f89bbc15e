#include "http/request.h"

#include "gtest/gtest.h"

namespace tide::httpc {
namespace {

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
       {"https://x", "http://:80", "http://h:0", "http://h:99999", "http://h:x", "http://[::1"}) {
    EXPECT_FALSE(ParseUrl(bad).ok()) << bad;
  }
}

TEST(SerializeRequest, HostLengthAndClose) {
  Request post;
  post.method = "POST";
  post.target = "/v2/models/m/infer";
  post.headers = {{"Content-Type", "application/json"}};
  post.body = "{}";
  EXPECT_EQ(SerializeRequest(post, "127.0.0.1:8000"),
            "POST /v2/models/m/infer HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(SerializeRequest(Request(), "h:1"), "GET / HTTP/1.1\r\nHost: h:1\r\n\r\n");
  Request put;
  put.method = "PUT";
  put.keep_alive = false;
  put.host = "127.0.0.1";
  EXPECT_EQ(SerializeRequest(put, "h:1"),
            "PUT / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  Request framed;
  framed.method = "POST";
  framed.headers = {{"transfer-encoding", "chunked"}};
  framed.body = "1\r\na\r\n0\r\n\r\n";
  EXPECT_EQ(
      SerializeRequest(framed, "h:1"),
      "POST / HTTP/1.1\r\nHost: h:1\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n");
}

}  // namespace
}  // namespace tide::httpc
