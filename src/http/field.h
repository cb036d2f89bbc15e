#pragma once

// Header-field syntax shared by the response parser's head and trailers
// (internal to src/http).

#include <string>
#include <string_view>

namespace tide::httpc {

// Splits "Name: value" (RFC 9110 field syntax: a token name, no blank before
// the colon, no obsolete line folding; the value trimmed of blanks, no CR,
// LF or NUL). False, with what is wrong in *why, for anything else.
bool ParseField(std::string_view line, std::string_view* name, std::string_view* value,
                std::string* why);

// Up to 40 characters of `s` for an error message, unprintables as '?'.
std::string Excerpt(std::string_view s);

}  // namespace tide::httpc
