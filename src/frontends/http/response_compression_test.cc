#include "frontends/http/response_compression.h"

#include <cstdint>

#include "frontends/http/v2_handlers.h"
#include "gtest/gtest.h"

namespace tide::http {
namespace {

// Through the request-body decoder tide uses for `Content-Encoding: gzip`:
// what tide compresses, tide (and so any gzip reader) reads back.
std::string Gunzip(const std::string& in) {
  auto out = DecodeContentEncoding("gzip", in, SIZE_MAX);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "<corrupt gzip>";
}

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  std::string v;
  for (const auto& [n, value] : r.headers) {
    if (n == name) v += (v.empty() ? "" : ",") + value;
  }
  return v;
}

TEST(ParseAcceptEncoding, QValues) {
  struct Case {
    const char* header;
    double gzip, identity;
  } cases[] = {
      {"gzip", 1, 1},
      {"GZip", 1, 1},
      {"x-gzip", 1, 1},
      {"gzip;q=0.5", 0.5, 1},
      {"gzip; q=0", 0, 1},
      {"deflate, br", 0, 1},
      {"*", 1, 1},
      {"*;q=0.2", 0.2, 1},
      {"*;q=0", 0, 0},
      {"*;q=0, identity", 0, 1},
      {"identity;q=0", 0, 0},
      {"gzip;q=0, *", 0, 1},
      {"gzip;q=abc", 0, 1},  // a malformed q-value: the entry is ignored
      {"gzip;q=1.5", 0, 1},
      {"br;q=1.0, gzip;q=0.8, *;q=0.1", 0.8, 1},
      {"", 0, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    AcceptedEncodings a = ParseAcceptEncoding(c.header);
    EXPECT_DOUBLE_EQ(a.gzip, c.gzip);
    EXPECT_DOUBLE_EQ(a.identity, c.identity);
  }
}

TEST(ShouldGzip, ThresholdPreferenceAndRefusedIdentity) {
  struct Case {
    const char* header;
    size_t size;
    bool gzip;
  } cases[] = {
      {"gzip", 1024, true},
      {"gzip", 1023, false},
      {"gzip;q=0.5, identity", 4096, false},  // identity explicitly preferred
      {"gzip, identity;q=0.5", 4096, true},
      {"gzip, identity;q=0", 10, true},  // identity refused: even a short body
      {"identity;q=0", 4096, false},     // nothing acceptable: sent as it is
      {"deflate", 4096, false},
      {"*", 4096, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    EXPECT_EQ(ShouldGzip(ParseAcceptEncoding(c.header), c.size, kCompressMinBytes), c.gzip);
  }
}

TEST(CompressResponse, GzipsLargeBodiesAndSetsHeaders) {
  HttpResponse r;
  r.body = std::string(3000, 'a') + "tail";
  r.headers.emplace_back("Inference-Header-Content-Length", "42");
  CompressResponse("gzip", &r);
  EXPECT_EQ(HeaderOf(r, "Content-Encoding"), "gzip");
  EXPECT_EQ(HeaderOf(r, "Vary"), "Accept-Encoding");
  EXPECT_EQ(HeaderOf(r, "Inference-Header-Content-Length"), "42");  // the uncompressed header
  EXPECT_LT(r.body.size(), 100u);
  EXPECT_EQ(Gunzip(r.body), std::string(3000, 'a') + "tail");
}

TEST(CompressResponse, LeavesSmallOrUnwantedBodies) {
  HttpResponse small;
  small.body = "{\"ready\":true}";
  CompressResponse("gzip", &small);
  EXPECT_EQ(small.body, "{\"ready\":true}");
  EXPECT_TRUE(small.headers.empty());

  HttpResponse unasked;
  unasked.body = std::string(2048, 'x');
  CompressResponse("", &unasked);
  EXPECT_EQ(unasked.body, std::string(2048, 'x'));
  EXPECT_EQ(HeaderOf(unasked, "Vary"), "Accept-Encoding");  // it could have been
  EXPECT_EQ(HeaderOf(unasked, "Content-Encoding"), "");

  HttpResponse encoded;
  encoded.body = std::string(2048, 'x');
  encoded.headers.emplace_back("Content-Encoding", "br");
  CompressResponse("gzip", &encoded);
  EXPECT_EQ(encoded.body, std::string(2048, 'x'));
}

TEST(Gzip, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 5000; ++i) all.push_back(static_cast<char>(i * 7 % 256));
  auto z = Gzip(all);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(static_cast<unsigned char>((*z)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*z)[1]), 0x8b);
  EXPECT_EQ(Gunzip(*z), all);
  EXPECT_EQ(Gunzip(*Gzip("")), "");
}

// RFC 1952: a gzip body may be several members (`cat a.gz b.gz`), as gunzip
// reads it; bytes after them that are not a member are still refused, and the
// bound on the decompressed size counts every member.
TEST(DecodeContentEncoding, GzipMembersOneAfterAnother) {
  std::string two = *Gzip("first half, ") + *Gzip("second half");
  EXPECT_EQ(Gunzip(two), "first half, second half");
  EXPECT_EQ(Gunzip(*Gzip("a") + *Gzip("") + *Gzip("b")), "ab");
  EXPECT_EQ(DecodeContentEncoding("gzip", two, 22).status().message(),
            "decompressed request body is over the limit of 22 bytes");
  EXPECT_EQ(DecodeContentEncoding("gzip", *Gzip("a") + "junk", SIZE_MAX).status().message(),
            "request body is not valid gzip data: incorrect header check");
  std::string cut = two.substr(0, two.size() - 3);  // the second member truncated
  EXPECT_EQ(DecodeContentEncoding("gzip", cut, SIZE_MAX).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tide::http
