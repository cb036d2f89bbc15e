#pragma once

// HTTP header fields as received: names keep their case, lookups ignore it.
// All names and values live in one string, so a response's headers cost two
// allocations however many there are (the load engine parses one response per
// request).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace tide::httpc {

class Headers {
 public:
  // Appends a field; duplicates are kept in order.
  void Add(std::string_view name, std::string_view value);
  // The first field named `name` (ASCII case-insensitive).
  std::optional<std::string_view> Get(std::string_view name) const;
  // Get(name), or "" when absent.
  std::string_view GetOr(std::string_view name, std::string_view fallback = {}) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  // Every field named `name`, in order.
  std::vector<std::string_view> GetAll(std::string_view name) const;

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  std::string_view name(size_t i) const;
  std::string_view value(size_t i) const;
  void Clear();

 private:
  struct Field {
    uint32_t name_at, name_len, value_at, value_len;
  };
  std::string text_;
  absl::InlinedVector<Field, 8> fields_;
};

// ASCII case-insensitive equality, no locale.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace tide::httpc
