// libFuzzer target: request bodies with Content-Encoding gzip / deflate
// (http::DecodeContentEncoding, frontends/http/v2_handlers.h), decompressed
// with a bound. The first byte picks the encoding and the bound; the rest is
// the body. Any body must decode to at most the bound or give InvalidArgument
// (corrupt) / OutOfRange (over the bound), never a crash or an unbounded
// allocation. The same bytes, compressed here, must decode back exactly, and
// one byte under their length must be refused as over the bound.

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "frontends/http/v2_handlers.h"

namespace {

constexpr const char* kEncodings[] = {"gzip", "deflate", "identity", " X-GZIP "};
constexpr size_t kBounds[] = {0, 1, 7, 100, 4096, 16384, 16385, 1 << 20};

// `plain` compressed with zlib's window bits `bits` (31 gzip, 15 zlib, -15 raw).
std::string Compress(const std::string& plain, int bits) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
  std::string out(deflateBound(&z, plain.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) __builtin_trap();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string encoding = kEncodings[data[0] & 3];
  const size_t bound = kBounds[(data[0] >> 2) & 7];
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);

  auto decoded = tide::http::DecodeContentEncoding(encoding, body, bound);
  if (encoding == "identity") {
    // Passed through as it is: the HTTP transport already bounds the bytes
    // it reads by the same --max-body-bytes.
    if (!decoded.ok() || *decoded != body) __builtin_trap();
  } else if (decoded.ok()) {
    if (decoded->size() > bound) __builtin_trap();
  } else if (!absl::IsInvalidArgument(decoded.status()) && !absl::IsOutOfRange(decoded.status())) {
    __builtin_trap();
  } else if (decoded.status().message().empty()) {
    __builtin_trap();
  }

  // Round trip: the body bytes as the plain text of each format.
  const struct {
    const char* encoding;
    int bits;
  } kFormats[] = {{"gzip", 31}, {"deflate", 15}, {"deflate", -15}};
  for (const auto& f : kFormats) {
    std::string packed = Compress(body, f.bits);
    auto back = tide::http::DecodeContentEncoding(f.encoding, packed, body.size());
    if (!back.ok() || *back != body) __builtin_trap();
    if (!body.empty()) {
      auto over = tide::http::DecodeContentEncoding(f.encoding, packed, body.size() - 1);
      if (!absl::IsOutOfRange(over.status())) __builtin_trap();
    }
  }
  return 0;
}
