#pragma once

// The one place that maps an absl::Status to what a client sees: the HTTP
// status code, the gRPC status code and whether (and how long) to retry.
// Frontends never pick a status code themselves.

#include <optional>
#include <string>

#include "absl/status/status.h"

namespace tide::common {

// HTTP status for `status`:
//   OK 200, InvalidArgument/FailedPrecondition/OutOfRange 400,
//   Unauthenticated 401, PermissionDenied 403, NotFound 404,
//   AlreadyExists 409, ResourceExhausted 429, Cancelled 499,
//   Unimplemented 501, Unavailable 503, DeadlineExceeded 504, others 500.
int HttpStatusFor(const absl::Status& status);

// gRPC status code (numeric, as in grpc::StatusCode) for `status`: absl and
// gRPC share their numbering, so this is the identity, spelled out for clarity.
int GrpcCodeFor(const absl::Status& status);

// Seconds a client should wait before retrying, for statuses that mean
// "try again later" (Unavailable, ResourceExhausted); nullopt otherwise.
std::optional<int> RetryAfterSecondsFor(const absl::Status& status);

// Short snake_case label of a code, used as a metric label ("invalid_argument").
std::string CodeLabel(absl::StatusCode code);

}  // namespace tide::common
