#pragma once

// The supervisor's readiness probe and the scrape source's reads: one
// blocking HTTP/1.1 GET on 127.0.0.1 over a fresh connection (as a kubelet
// probe makes it), through the shared HTTP client (src/http). Thread-safe:
// each call has its own connection.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tide::fleet {

// The status code of `GET path` on 127.0.0.1:port, on a fresh connection,
// within `timeout` for the whole exchange. The shared client's errors:
// Unavailable if the connection is refused or closes before an answer,
// DeadlineExceeded after `timeout`, Internal for an answer that is not HTTP.
absl::StatusOr<int> HttpGetStatus(int port, std::string_view path, absl::Duration timeout);

struct HttpGetResult {
  int status = 0;
  std::string body;  // de-chunked when the answer was chunked
};
// The status and body of `GET path` on 127.0.0.1:port (Connection: close),
// within `timeout` for the whole exchange; a body over `max_body` bytes is an
// error (the client's parser limit). Same errors as HttpGetStatus otherwise.
absl::StatusOr<HttpGetResult> HttpGet(int port, std::string_view path, absl::Duration timeout,
                                      size_t max_body = 16 << 20);

}  // namespace tide::fleet
