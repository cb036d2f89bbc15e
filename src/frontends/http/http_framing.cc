#include "frontends/http/http_framing.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tide::http {

std::string FramingError(const FramingFields& f) {
  if (f.host_fields > 1) return "more than one Host field";
  if (f.host_fields == 0 && f.version >= 11) return "no Host field (HTTP/1.1 requires one)";
  if (f.transfer_encoding.empty()) return "";
  std::vector<std::string> codings;
  for (const std::string& field : f.transfer_encoding) {
    for (absl::string_view piece : absl::StrSplit(field, ',')) {
      absl::string_view coding = absl::StripAsciiWhitespace(piece);
      if (!coding.empty())
        codings.push_back(absl::AsciiStrToLower(coding));  // empty elements are allowed
    }
  }
  if (f.version < 11) {
    return "Transfer-Encoding in an HTTP/1.0 request: its framing cannot be trusted";
  }
  if (f.has_content_length) {
    return "both Transfer-Encoding and Content-Length: the body's length is ambiguous";
  }
  if (codings.empty()) return "empty Transfer-Encoding";
  if (codings.back() != "chunked") {
    return absl::StrCat("the final transfer coding is '", codings.back(),
                        "', not chunked: the body's length cannot be determined");
  }
  if (codings.size() > 1) {
    if (codings.front() == "chunked") return "chunked applied more than once in Transfer-Encoding";
    return absl::StrCat("transfer coding '", codings.front(),
                        "' is not supported (tide implements chunked only)");
  }
  return "";
}

std::string_view TargetPath(std::string_view target) {
  std::string_view path = target;
  if (!path.empty() && path[0] != '/') {
    const size_t sep = path.find("://");
    const absl::string_view scheme(path.data(), std::min(sep, path.size()));
    if (sep != std::string_view::npos &&
        (absl::EqualsIgnoreCase(scheme, "http") || absl::EqualsIgnoreCase(scheme, "https"))) {
      const std::string_view rest = path.substr(sep + 3);
      const size_t slash = rest.find_first_of("/?");
      path = slash == std::string_view::npos || rest[slash] == '?' ? std::string_view("/")
                                                                   : rest.substr(slash);
    }
  }
  if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  return path;
}

}  // namespace tide::http
