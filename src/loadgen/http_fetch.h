#pragma once

// One blocking HTTP/1.1 exchange on a fresh connection, with a deadline: for
// the few requests around a run (model metadata, /metrics scrapes), not for
// load. A thin use of the shared client (http/client.h). Thread-safe.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "loadgen/http_wire.h"

namespace tide::loadgen {

// Sends `method target` to url's host:port. Unavailable if the connection
// fails, DeadlineExceeded after `timeout`, Internal for a malformed answer.
// Any HTTP status is returned as a response (not an error).
absl::StatusOr<HttpResponse> FetchOnce(const Url& url, std::string_view method,
                                       std::string_view target, absl::Duration timeout);

}  // namespace tide::loadgen
