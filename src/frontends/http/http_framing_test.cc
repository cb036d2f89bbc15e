#include "frontends/http/http_framing.h"

#include "gtest/gtest.h"

namespace tide::http {
namespace {

// The rule alone; the transport's end-to-end table is in http_server_test.
TEST(FramingError, OnlyExactlyChunkedInHttp11WithoutContentLength) {
  struct Case {
    FramingFields fields;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{11, {}, false}, ""},
      {{11, {}, true}, ""},
      {{10, {}, true}, ""},
      {{11, {"chunked"}, false}, ""},
      {{11, {"CHUNKED"}, false}, ""},
      {{11, {" ,\tchunked , "}, false}, ""},
      {{11, {"", "chunked"}, false}, ""},
      {{10, {"chunked"}, false},
       "Transfer-Encoding in an HTTP/1.0 request: its framing cannot be trusted"},
      {{11, {"chunked"}, true},
       "both Transfer-Encoding and Content-Length: the body's length is ambiguous"},
      {{11, {""}, false}, "empty Transfer-Encoding"},
      {{11, {"chunked, identity"}, false},
       "the final transfer coding is 'identity', not chunked: the body's length cannot be "
       "determined"},
      {{11, {"chunked", "gzip"}, false},
       "the final transfer coding is 'gzip', not chunked: the body's length cannot be "
       "determined"},
      {{11, {"xchunked"}, false},
       "the final transfer coding is 'xchunked', not chunked: the body's length cannot be "
       "determined"},
      {{11, {"chunked, chunked"}, false}, "chunked applied more than once in Transfer-Encoding"},
      {{11, {"Gzip", "chunked"}, false},
       "transfer coding 'gzip' is not supported (tide implements chunked only)"},
      {{11, {"deflate, gzip, chunked"}, false},
       "transfer coding 'deflate' is not supported (tide implements chunked only)"},
  };
  for (const Case& c : cases) {
    std::string te;
    for (const std::string& v : c.fields.transfer_encoding) te += "[" + v + "]";
    SCOPED_TRACE(te + " v" + std::to_string(c.fields.version) +
                 (c.fields.has_content_length ? " +CL" : ""));
    FramingFields with_host = c.fields;
    with_host.host_fields = 1;
    EXPECT_EQ(FramingError(with_host), c.error);
  }
}

// RFC 9112 §3.2: a server must refuse an HTTP/1.1 request without Host, and
// any request with more than one.
TEST(FramingError, HostIsRequiredInHttp11AndOnlyOnce) {
  FramingFields f;
  f.version = 11;
  EXPECT_EQ(FramingError(f), "no Host field (HTTP/1.1 requires one)");
  f.host_fields = 1;
  EXPECT_EQ(FramingError(f), "");
  f.host_fields = 2;
  EXPECT_EQ(FramingError(f), "more than one Host field");
  f.version = 10;
  EXPECT_EQ(FramingError(f), "more than one Host field");
  f.host_fields = 0;
  EXPECT_EQ(FramingError(f), "");  // HTTP/1.0 may leave it out
}

}  // namespace
}  // namespace tide::http
