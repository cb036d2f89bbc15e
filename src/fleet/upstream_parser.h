#pragma once

// The router's view of a replica's answer: an incremental HTTP/1.1 response
// parser fed from a non-blocking socket, behind a small interface so that the
// router's upstream loop does not depend on which parser does the work. The
// one in use is the shared client library's (httpc::ResponseParser,
// src/http/response_parser.h), adapted in upstream_parser.cc.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::fleet {

// One parsed response. Header names are lower-cased.
struct UpstreamResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = false;  // the connection may carry another request
};

// Not thread-safe: one per connection, used by the loop that owns it.
class ResponseParser {
 public:
  virtual ~ResponseParser() = default;
  // Prepares for the response to the next request; `head`: it answers a
  // HEAD, so it has no body whatever its Content-Length says.
  virtual void Reset(bool head) = 0;
  // Feeds the bytes that arrived. Returns how many were used (bytes not
  // used and not past a complete response must be fed again with more; a
  // replica sends nothing past the response asked for), or an error when
  // they are not a valid response or are over the limits.
  virtual absl::StatusOr<size_t> Feed(std::string_view data) = 0;
  // The replica closed the connection: completes a response whose body runs
  // to the end of the connection. False if the response is incomplete.
  virtual bool FinishAtEof() = 0;
  // True once a whole response has been parsed.
  virtual bool done() const = 0;
  // True once any byte of a response has been parsed.
  virtual bool started() const = 0;
  // The whole response; only when done(). Leaves the parser needing Reset.
  virtual UpstreamResponse Take() = 0;
};

std::unique_ptr<ResponseParser> NewResponseParser(size_t max_body_bytes);

}  // namespace tide::fleet
