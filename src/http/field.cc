#include "http/field.h"

#include <cstring>

#include "common/text.h"

namespace tide::httpc {
namespace {

bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

}  // namespace

std::string Excerpt(std::string_view s) {
  std::string out(s.substr(0, 40));
  for (char& c : out) {
    if (c < 0x20 || c == 0x7f) c = '?';
  }
  if (s.size() > 40) out += "...";
  return out;
}

std::string ParseField(std::string_view line, std::string_view* name, std::string_view* value) {
  if (line[0] == ' ' || line[0] == '\t') return "obsolete line folding in header";
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return common::Cat("header line without a colon: '", Excerpt(line), "'");
  }
  *name = line.substr(0, colon);
  if (name->empty()) return "empty header name";
  for (char c : *name) {
    if (!IsTokenChar(c)) return common::Cat("bad character in header name '", Excerpt(*name), "'");
  }
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  for (char c : v) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return common::Cat("bad character in the value of header '", Excerpt(*name), "'");
    }
  }
  *value = v;
  return "";
}

}  // namespace tide::httpc
