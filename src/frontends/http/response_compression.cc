#include "frontends/http/response_compression.h"

#include <zlib.h>

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "common/text.h"

namespace tide::http {
namespace {

// "0.5" → 0.5; -1 for anything that is not a q-value (0..1, ≤ 3 decimals).
double ParseQ(std::string_view v) {
  v = common::Trim(v);
  if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return -1;
  for (size_t i = 1; i < v.size(); ++i) {
    if (i == 1 ? v[i] != '.' : (v[i] < '0' || v[i] > '9')) return -1;
  }
  double q = 0;
  if (!common::ParseDouble(v, &q) || q > 1) return -1;
  return q;
}

}  // namespace

AcceptedEncodings ParseAcceptEncoding(std::string_view header) {
  double gzip = -1, star = -1, identity = -1;
  for (std::string_view item : common::Split(header, ',')) {
    std::vector<std::string_view> parts = common::Split(item, ';');
    std::string_view coding = common::Trim(parts[0]);
    if (coding.empty()) continue;
    double q = 1;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string_view p = common::Trim(parts[i]);
      if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') q = ParseQ(p.substr(2));
    }
    if (q < 0) continue;  // a malformed q-value: the entry is ignored
    if (common::EqualsIgnoreCase(coding, "gzip") || common::EqualsIgnoreCase(coding, "x-gzip")) {
      gzip = std::max(gzip, q);
    } else if (coding == "*") {
      star = q;
    } else if (common::EqualsIgnoreCase(coding, "identity")) {
      identity = q;
    }
  }
  AcceptedEncodings a;
  a.gzip = gzip >= 0 ? gzip : (star >= 0 ? star : 0);
  a.identity_listed = identity >= 0;
  a.identity = identity >= 0 ? identity : (star == 0 ? 0 : 1);
  return a;
}

bool ShouldGzip(const AcceptedEncodings& a, size_t size, size_t min_bytes) {
  if (a.gzip <= 0) return false;
  if (a.identity <= 0) return true;
  if (a.identity_listed && a.identity > a.gzip) return false;
  return size >= min_bytes;
}

absl::StatusOr<std::string> Gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("cannot start zlib");
  }
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  size_t written = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return absl::InternalError("zlib could not compress the response");
  out.resize(written);
  return out;
}

void CompressResponse(std::string_view accept_encoding, HttpResponse* r, size_t min_bytes) {
  if (r->body.empty()) return;
  for (const auto& [name, value] : r->headers) {
    if (absl::EqualsIgnoreCase(name, "Content-Encoding")) return;  // already encoded
  }
  bool gzip = !accept_encoding.empty() &&
              ShouldGzip(ParseAcceptEncoding(accept_encoding), r->body.size(), min_bytes);
  if (gzip || r->body.size() >= min_bytes) r->headers.emplace_back("Vary", "Accept-Encoding");
  if (!gzip || r->body.size() > (size_t{1} << 32) - 1) return;  // zlib's uInt
  absl::StatusOr<std::string> z = Gzip(r->body);
  if (!z.ok()) return;  // sent as it is
  r->body = *std::move(z);
  r->headers.emplace_back("Content-Encoding", "gzip");
}

}  // namespace tide::http
