#pragma once

// Debian 12's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so StrCat and heterogeneous hash-map lookups need this
// explicit bridge.

#include <string_view>

#include "absl/strings/string_view.h"

namespace tide::autoscaler {

inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace tide::autoscaler
