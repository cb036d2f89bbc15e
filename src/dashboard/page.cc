#include "dashboard/page.h"

namespace tide::dashboard {

namespace {

// In dashboard.html: <script id="tide-data" type="application/json">null</script>
constexpr std::string_view kMarker = "<script id=\"tide-data\" type=\"application/json\">null";

}  // namespace

std::string PageWithData(std::string_view json) {
  std::string_view page = DashboardPage();
  size_t at = page.find(kMarker);
  std::string out;
  out.reserve(page.size() + json.size() + 64);
  if (at == std::string_view::npos) return std::string(page);  // cannot happen: page_test
  size_t data_at = at + kMarker.size() - 4;                    // "null"
  out.append(page.substr(0, data_at));
  // "<" as \u003c is the same JSON value and can close no element.
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  out.append(page.substr(data_at + 4));
  return out;
}

}  // namespace tide::dashboard
