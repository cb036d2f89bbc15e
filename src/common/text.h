#pragma once

// Small string helpers over std::string_view. Debian's Abseil is built with
// its own string_view type, so absl::StrCat & co. do not take
// std::string_view; text handling over std::string_view (the load generator,
// trace readers) goes through these.

#include <charconv>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "fmt/format.h"

// absl::string_view (e.g. Status::message()) is a distinct type here.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(absl::string_view s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};

namespace tide::common {

// Concatenates anything fmt can format ("{}").
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
  return out;
}
template <typename... Args>
void Append(std::string* out, const Args&... args) {
  (fmt::format_to(std::back_inserter(*out), "{}", args), ...);
}

std::string_view Trim(std::string_view s);
std::string_view TrimLeft(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);
std::vector<std::string_view> Split(std::string_view s, char sep);

// Whole-string parses (surrounding blanks allowed); false on any junk.
bool ParseInt(std::string_view s, int64_t* out);
bool ParseHex(std::string_view s, uint64_t* out);
bool ParseDouble(std::string_view s, double* out);

}  // namespace tide::common
