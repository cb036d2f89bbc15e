#include "common/logging.h"

#include "gtest/gtest.h"

namespace tide::common {
namespace {

TEST(JsonEscape, EscapesQuotesControlAndBackslash) {
  EXPECT_EQ(JsonEscape("plain"), "plain");
  EXPECT_EQ(JsonEscape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(JsonEscape("line\nnext\ttab"), "line\\nnext\\ttab");
  EXPECT_EQ(JsonEscape(std::string_view("\x01", 1)), "\\u0001");
  EXPECT_EQ(JsonEscape("\x1f\x7f"), "\\u001f\x7f");
}

// The output is always valid UTF-8: each byte that is not part of a
// well-formed UTF-8 sequence becomes the visible text \xNN.
TEST(IsUtf8, WellFormedOnly) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
  for (const char* bad :
       {"a\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "x\xe2\x82", "\x80z"}) {
    EXPECT_FALSE(IsUtf8(bad)) << JsonEscape(bad);
  }
}

TEST(JsonEscape, InvalidUtf8BecomesVisibleEscapes) {
  EXPECT_EQ(JsonEscape("a\xff"
                       "b"),
            "a\\\\xffb");                                          // a raw 0xFF
  EXPECT_EQ(JsonEscape("\xc0\x80"), "\\\\xc0\\\\x80");             // overlong NUL
  EXPECT_EQ(JsonEscape("\xe0\x80\xaf"), "\\\\xe0\\\\x80\\\\xaf");  // overlong '/'
  EXPECT_EQ(JsonEscape("\xed\xa0\x80"), "\\\\xed\\\\xa0\\\\x80");  // lone surrogate U+D800
  EXPECT_EQ(JsonEscape("\xf4\x90\x80\x80"), "\\\\xf4\\\\x90\\\\x80\\\\x80");  // > U+10FFFF
  EXPECT_EQ(JsonEscape("x\xe2\x82"), "x\\\\xe2\\\\x82");                      // truncated sequence
  EXPECT_EQ(JsonEscape("\x80z"), "\\\\x80z");  // stray continuation byte
  // Well-formed multi-byte characters are kept as they are.
  EXPECT_EQ(JsonEscape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf");
  EXPECT_EQ(JsonEscape("%ff%fe"), "%ff%fe");
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
