#include "common/logging.h"

#include "gtest/gtest.h"

namespace tide::common {
namespace {

TEST(JsonEscape, EscapesQuotesControlAndBackslash) {
  EXPECT_EQ(JsonEscape("plain"), "plain");
  EXPECT_EQ(JsonEscape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(JsonEscape("line\nnext\ttab"), "line\\nnext\\ttab");
  EXPECT_EQ(JsonEscape(std::string_view("\x01", 1)), "\\u0001");
}

TEST(InitLogging, RejectsUnknownOptions) {
  EXPECT_TRUE(InitLogging({"text", "info"}).ok());
  EXPECT_TRUE(InitLogging({"json", "debug"}).ok());
  absl::Status bad_level = InitLogging({"text", "loud"});
  EXPECT_EQ(bad_level.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_level.message().find("'loud'"), std::string::npos);
  absl::Status bad_format = InitLogging({"xml", "info"});
  EXPECT_EQ(bad_format.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_format.message().find("'xml'"), std::string::npos);
}

}  // namespace
}  // namespace tide::common
