#pragma once

// gzip response bodies for clients that ask for them (Accept-Encoding).
// Pure functions; unit-tested. Triton's binary tensor responses are
// compressed whole: Inference-Header-Content-Length keeps the length of the
// uncompressed JSON header, as Triton's clients read it after decompressing.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "frontends/http/http_types.h"

namespace tide::http {

// Bodies shorter than this are sent as they are: below ~1 KiB gzip's 18
// bytes of framing and the CPU it costs buy little.
inline constexpr size_t kCompressMinBytes = 1024;

// What an Accept-Encoding header (RFC 9110 12.5.3) allows, by q-value:
// "gzip" (or "x-gzip"), else "*", else not acceptable (0). Identity is
// acceptable unless "identity;q=0", or "*;q=0" with no identity entry.
struct AcceptedEncodings {
  double gzip = 0;      // q-value of gzip, 0 = not acceptable
  double identity = 1;  // q-value of the body as it is
  bool identity_listed = false;
};
AcceptedEncodings ParseAcceptEncoding(std::string_view header);

// Whether to gzip a body of `size` bytes for a client that sent `accepted`:
// gzip acceptable and preferred at least as much as an explicitly listed
// identity, and the body at least `min_bytes` long, or identity refused
// (then even a short body is compressed). With neither acceptable the body
// goes as it is (a 406 would throw the answer away).
bool ShouldGzip(const AcceptedEncodings& accepted, size_t size, size_t min_bytes);

// gzip (RFC 1952) of `data` at zlib level 1 (fastest: the server's CPU is
// the inference's).
absl::StatusOr<std::string> Gzip(std::string_view data);

// Compresses `r`'s body in place for a request that sent `accept_encoding`
// ("" = absent: nothing changes). Adds Content-Encoding: gzip when it does;
// adds Vary: Accept-Encoding to every response whose body is at least
// `min_bytes` long or that is compressed, so caches keep the variants apart.
void CompressResponse(std::string_view accept_encoding, HttpResponse* r,
                      size_t min_bytes = kCompressMinBytes);

}  // namespace tide::http
