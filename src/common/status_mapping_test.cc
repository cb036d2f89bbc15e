#include "common/status_mapping.h"

#include "gtest/gtest.h"

namespace tide::common {
namespace {

struct Case {
  absl::Status status;
  int http;
  std::optional<int> retry_after;
  const char* label;
};

TEST(StatusMapping, Table) {
  const Case cases[] = {
      {absl::OkStatus(), 200, std::nullopt, "ok"},
      {absl::InvalidArgumentError("x"), 400, std::nullopt, "invalid_argument"},
      {absl::FailedPreconditionError("x"), 400, std::nullopt, "failed_precondition"},
      {absl::UnauthenticatedError("x"), 401, std::nullopt, "unauthenticated"},
      {absl::PermissionDeniedError("x"), 403, std::nullopt, "permission_denied"},
      {absl::NotFoundError("x"), 404, std::nullopt, "not_found"},
      {absl::ResourceExhaustedError("x"), 429, 1, "resource_exhausted"},
      {absl::UnimplementedError("x"), 501, std::nullopt, "unimplemented"},
      {absl::UnavailableError("x"), 503, 1, "unavailable"},
      {absl::DeadlineExceededError("x"), 504, std::nullopt, "deadline_exceeded"},
      {absl::InternalError("x"), 500, std::nullopt, "internal"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    EXPECT_EQ(HttpStatusFor(c.status), c.http);
    EXPECT_EQ(RetryAfterSecondsFor(c.status), c.retry_after);
    EXPECT_EQ(CodeLabel(c.status.code()), c.label);
  }
  EXPECT_EQ(GrpcCodeFor(absl::UnavailableError("x")), 14);
  EXPECT_EQ(GrpcCodeFor(absl::InvalidArgumentError("x")), 3);
}

}  // namespace
}  // namespace tide::common
