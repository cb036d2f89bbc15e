#include "frontends/http/http_framing.h"

#include "absl/strings/ascii.h"
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

}  // namespace tide::http
