#include "common/status_macros.h"

#include <string>

#include "gtest/gtest.h"

namespace {

absl::Status FailIf(bool fail) {
  return fail ? absl::InvalidArgumentError("boom") : absl::OkStatus();
}

absl::Status Chain(bool fail, int* reached) {
  RETURN_IF_ERROR(FailIf(fail));
  *reached = 1;
  return absl::OkStatus();
}

absl::StatusOr<std::string> Name(bool fail) {
  if (fail) return absl::NotFoundError("no name");
  return std::string("tide");
}

absl::StatusOr<size_t> NameLength(bool fail) {
  ASSIGN_OR_RETURN(std::string name, Name(fail));
  return name.size();
}

TEST(StatusMacros, ReturnIfErrorStopsOnError) {
  int reached = 0;
  absl::Status s = Chain(true, &reached);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "boom");
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(Chain(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacros, AssignOrReturnPropagatesAndAssigns) {
  auto bad = NameLength(true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
  auto good = NameLength(false);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4u);
}

}  // namespace
