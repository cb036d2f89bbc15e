#include "dashboard/page.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace tide::dashboard {
namespace {

std::string Source() {
  std::ifstream in(TIDE_DASHBOARD_HTML, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DashboardPageTest, IsTheSourceFileByteForByteAndSmall) {
  std::string source = Source();
  ASSERT_FALSE(source.empty());
  EXPECT_EQ(DashboardPage(), source);
  EXPECT_LT(DashboardPage().size(), 100u * 1024) << "the page must stay under 100 KB";
  for (char c : DashboardPage()) ASSERT_LT(static_cast<unsigned char>(c), 0x80) << "ASCII only";
}

TEST(DashboardPageTest, LoadsNothingFromElsewhere) {
  std::string page(DashboardPage());
  for (const char* remote : {"https://", "//cdn", "@import", "<link", "src=", "url("}) {
    EXPECT_EQ(page.find(remote), std::string::npos) << remote;
  }
  // The one http:// is SVG's namespace name, which is never fetched.
  const std::string svg_ns = "'http://www.w3.org/2000/svg'";
  size_t at = page.find("http://");
  EXPECT_EQ(page.compare(at - 1, svg_ns.size(), svg_ns), 0);
  EXPECT_EQ(page.find("http://", at + 1), std::string::npos);
}

TEST(DashboardPageTest, EmbedsDataInPlaceOfTheMarker) {
  std::string page = PageWithData("{\"kind\":\"up\",\"x\":\"</script><!-- a<b\"}");
  EXPECT_EQ(page.size(), DashboardPage().size() - 4 +
                             std::string("{\"kind\":\"up\",\"x\":\"\\u003c/script>"
                                         "\\u003c!-- a\\u003cb\"}")
                                 .size());
  EXPECT_NE(page.find("<script id=\"tide-data\" type=\"application/json\">{\"kind\":\"up\",\"x\":"
                      "\"\\u003c/script>\\u003c!-- a\\u003cb\"}</script>"),
            std::string::npos);
  EXPECT_EQ(page.find("type=\"application/json\">null"), std::string::npos);
}

}  // namespace
}  // namespace tide::dashboard
