#pragma once

// How a request's body is framed (RFC 9112 §6), decided from its header
// fields alone: a pure function the transport calls once a request's header
// is complete.

#include <string>
#include <string_view>
#include <vector>

namespace tide::http {

struct FramingFields {
  unsigned version = 11;                       // 10 or 11
  std::vector<std::string> transfer_encoding;  // the value of each Transfer-Encoding field
  bool has_content_length = false;             // a Content-Length field is present
  int host_fields = 0;                         // how many Host fields
};

// Beast's parser reads a Transfer-Encoding whose final coding is not chunked
// as "no body", which would make the body the next request on the
// connection (a desync), and it lets a Content-Length follow such a
// Transfer-Encoding. tide implements the chunked coding only, so a request
// with a Transfer-Encoding must say exactly "chunked" (any case, optional
// whitespace and empty list elements), in HTTP/1.1, without Content-Length.
// It also applies RFC 9112 §3.2's rule on Host: an HTTP/1.1 request without
// one, or any request with two, must be refused.
// Returns why the request must be refused (400, then close), or "" when its
// framing is sound. (Invalid Content-Length values are the parser's.)
std::string FramingError(const FramingFields& fields);

// The path of a request-target, without its query, still percent-encoded:
// "/v2/x?q" -> "/v2/x". The absolute form ("http://host:port/v2/x?q", RFC
// 9112 §3.2.2), which a server must accept, gives its path ("/" if none).
std::string_view TargetPath(std::string_view target);

}  // namespace tide::http
