#pragma once

// The supervisor's readiness probe: one blocking HTTP/1.1 GET on 127.0.0.1.
// Kept in this one function so that it can move onto the shared HTTP client
// (src/http) when that exists. Thread-compatible: each call has its own socket.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tide::fleet {

// The status code of `GET path` on 127.0.0.1:port, on a fresh connection,
// within `timeout` (connect, send and status line together). Unavailable if
// the connection is refused or closes before a status line, DeadlineExceeded
// after `timeout`, Internal for an answer that is not HTTP.
absl::StatusOr<int> HttpGetStatus(int port, std::string_view path, absl::Duration timeout);

struct HttpGetResult {
  int status = 0;
  std::string body;  // de-chunked when the answer was chunked
};
// The status and body of `GET path` on 127.0.0.1:port (Connection: close),
// within `timeout` for the whole exchange; bodies over `max_body` bytes are
// refused (ResourceExhausted). Same errors as HttpGetStatus otherwise. The
// scrape source's one way to read /metrics until the shared client exists.
absl::StatusOr<HttpGetResult> HttpGet(int port, std::string_view path, absl::Duration timeout,
                                      size_t max_body = 16 << 20);

}  // namespace tide::fleet
