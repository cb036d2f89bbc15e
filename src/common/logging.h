#pragma once

// Process-wide logging set-up. Code logs with spdlog directly
// (spdlog::info(...)); this only chooses the format and the level, once, in
// main(). Logs go to stderr; stdout is kept for a command's results.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace tide::common {

struct LogOptions {
  std::string format = "text";  // "text" or "json" (one JSON object per line)
  std::string level = "info";   // trace, debug, info, warn, error, off
};

// Installs the stderr logger. InvalidArgument names the bad option.
absl::Status InitLogging(const LogOptions& options);

// Escapes `s` for use inside a JSON string literal (without the quotes). The
// result is always valid UTF-8: control characters become \u00XX and each
// byte that is not part of well-formed UTF-8 becomes the visible text \xNN
// (JSON "\\xNN"); well-formed multi-byte characters are kept as they are.
std::string JsonEscape(std::string_view s);

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF): text JsonEscape keeps as it is.
bool IsUtf8(std::string_view s);

}  // namespace tide::common
