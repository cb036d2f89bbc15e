#include "http/field.h"

#include <cstdint>

#include "common/text.h"

namespace tide::httpc {
namespace {

struct TokenTable {
  bool is_token[256] = {};
  TokenTable() {
    for (int c = '0'; c <= '9'; ++c) is_token[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) is_token[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) is_token[c] = true;
    for (const char* p = "!#$%&'*+-.^_`|~"; *p != '\0'; ++p)
      is_token[static_cast<uint8_t>(*p)] = true;
  }
};
const TokenTable kTokens;

bool IsTokenChar(char c) { return kTokens.is_token[static_cast<uint8_t>(c)]; }

}  // namespace

std::string Excerpt(std::string_view s) {
  std::string out(s.substr(0, 40));
  for (char& c : out) {
    if (c < 0x20 || c == 0x7f) c = '?';
  }
  if (s.size() > 40) out += "...";
  return out;
}

bool ParseField(std::string_view line, std::string_view* name, std::string_view* value,
                std::string* why) {
  if (line[0] == ' ' || line[0] == '\t') {
    *why = "obsolete line folding in header";
    return false;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    *why = common::Cat("header line without a colon: '", Excerpt(line), "'");
    return false;
  }
  *name = line.substr(0, colon);
  if (name->empty()) {
    *why = "empty header name";
    return false;
  }
  for (char c : *name) {
    if (!IsTokenChar(c)) {
      *why = common::Cat("bad character in header name '", Excerpt(*name), "'");
      return false;
    }
  }
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  for (char c : v) {
    if (c == '\r' || c == '\n' || c == '\0') {
      *why = common::Cat("bad character in the value of header '", Excerpt(*name), "'");
      return false;
    }
  }
  *value = v;
  return true;
}

}  // namespace tide::httpc
