#include "loadgen/http_wire.h"

#include "gtest/gtest.h"

namespace tide::loadgen {
namespace {

TEST(SerializeRequest, HasHostAndLength) {
  Url u{"127.0.0.1", 8000, "/"};
  EXPECT_EQ(SerializeRequest("POST", u, "/v2/models/m/infer",
                             {{"Content-Type", "application/json"}}, "{}"),
            "POST /v2/models/m/infer HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(SerializeRequest("GET", u, "/", {}, ""),
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n");
}

// The parser itself is tested in src/http; this is loadgen's view of it.
TEST(ToHttpResponse, TakesWhatTheCheckersRead) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nInference-Header-Content-Length: 3\r\n"
      "content-type: application/octet-stream\r\nConnection: close\r\n\r\nhello";
  httpc::ResponseParser p;
  ASSERT_EQ(p.Feed(wire), wire.size());
  HttpResponse r;
  EXPECT_EQ(ToHttpResponse(p.Take(), &r), "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.inference_header_length, 3);
  EXPECT_EQ(r.content_type, "application/octet-stream");

  httpc::Response bad;
  bad.headers.Add("Inference-Header-Content-Length", "-2");
  EXPECT_EQ(ToHttpResponse(std::move(bad), &r), "bad Inference-Header-Content-Length");
  httpc::Response plain;
  plain.status = 204;
  EXPECT_EQ(ToHttpResponse(std::move(plain), &r), "");
  EXPECT_EQ(r.inference_header_length, -1);
  EXPECT_EQ(r.content_type, "");
}

}  // namespace
}  // namespace tide::loadgen
