#pragma once

// Transport-neutral HTTP request/response values passed between the
// transport (http_server) and the handlers.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tide::http {

// A request body that came with a Content-Length is read into a buffer with
// this many bytes of capacity past its end, so that a parser which reads
// beyond the last byte (simdjson reads up to 64) can pad it in place instead
// of copying it.
inline constexpr size_t kRequestBodySlack = 64;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request-target, e.g. "/v2/models/simple/infer?x=1"
  std::string path;    // target without the query string, still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // The first header named `name` (lower-case), or "" if absent.
  const std::string& Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  // Empty means application/json (the usual case, and one allocation fewer
  // per response than spelling it: 16 characters do not fit a short string).
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
  bool close = false;  // close the connection after this response
};

// Completes a request. Call exactly once, from any thread.
using Responder = std::function<void(HttpResponse)>;

// Handles one request: must eventually call `respond` exactly once; must not
// block the calling (I/O) thread on inference.
using Handler = std::function<void(HttpRequest, Responder)>;

// {"error":"<message>"} with the status, plus Retry-After when given.
HttpResponse ErrorResponse(int status, const std::string& message, int retry_after_seconds = 0);

// The status line and headers of `r` (HTTP/1.0 or 1.1 per `version`, 10 or
// 11), with Content-Length `body_size` and Connection: close when `close`
// (keep-alive spelled out for HTTP/1.0), ending with the blank line.
std::string SerializeResponseHead(const HttpResponse& r, unsigned version, bool close,
                                  size_t body_size);
// The same, appended to `*out` (which the transport reuses between responses).
void AppendResponseHead(const HttpResponse& r, unsigned version, bool close, size_t body_size,
                        std::string* out);

}  // namespace tide::http
