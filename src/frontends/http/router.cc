#include "frontends/http/router.h"

#include <vector>

#include "absl/container/inlined_vector.h"

namespace tide::http {

namespace {

// V2 paths have at most 7 segments: these stay on the stack.
using Segments = absl::InlinedVector<std::string_view, 8>;

// Splits on `sep` (std::string_view; Debian's Abseil has its own string_view).
Segments Split(std::string_view s, std::string_view sep) {
  Segments out;
  for (size_t start = 0;;) {
    size_t end = s.find(sep, start);
    out.push_back(
        s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + sep.size();
  }
}

}  // namespace

bool PercentDecode(std::string_view in, std::string* out) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) return false;
    out->push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
    i += 2;
  }
  return true;
}

bool Route::Allows(std::string_view method) const {
  for (std::string_view m : Split(methods, ", ")) {
    if (m == method) return true;
  }
  return false;
}

Route MatchRoute(std::string_view path) {
  Route r;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  Segments p = Split(path, "/");
  // Only segments with an escape are decoded (into strings that outlive `p`).
  size_t escaped = 0;
  for (std::string_view segment : p) escaped += segment.find('%') != std::string_view::npos;
  absl::InlinedVector<std::string, 2> decoded;
  decoded.reserve(escaped);  // never reallocated: `p` points into it
  for (std::string_view& segment : p) {
    if (segment.find('%') == std::string_view::npos) continue;
    decoded.emplace_back();
    if (!PercentDecode(segment, &decoded.back())) {
      r.kind = RouteKind::kBadRequest;
      return r;
    }
    segment = decoded.back();
  }
  // p[0] is "" (leading slash).
  if (p.size() < 2 || !p[0].empty() || p[1] != "v2") return r;
  auto get = [&](RouteKind k) {
    r.kind = k;
    r.methods = "GET, HEAD";
    return r;
  };
  if (p.size() == 2) return get(RouteKind::kServerMetadata);
  if (p.size() == 4 && p[2] == "health") {
    if (p[3] == "live") return get(RouteKind::kHealthLive);
    if (p[3] == "ready") return get(RouteKind::kHealthReady);
    return r;
  }
  if (p.size() == 4 && p[2] == "repository" && p[3] == "index") {
    r.kind = RouteKind::kRepositoryIndex;
    r.methods = "GET, POST";
    return r;
  }
  if (p.size() == 6 && p[2] == "repository" && p[3] == "models" && !p[4].empty() &&
      (p[5] == "load" || p[5] == "unload")) {
    r.kind = p[5] == "load" ? RouteKind::kRepositoryLoad : RouteKind::kRepositoryUnload;
    r.model = std::string(p[4]);
    r.methods = "POST";
    return r;
  }
  if (p[2] != "models" || p.size() < 4) return r;
  if (p.size() == 4 && p[3] == "stats") return get(RouteKind::kAllStats);
  if (p[3].empty()) return r;
  r.model = std::string(p[3]);
  size_t next = 4;
  if (p.size() >= 6 && p[4] == "versions") {
    if (p[5].empty()) return Route{};
    r.version = std::string(p[5]);
    next = 6;
  }
  if (p.size() == next) return get(RouteKind::kModelMetadata);
  if (p.size() != next + 1) return Route{};
  std::string_view action = p[next];
  if (action == "ready") return get(RouteKind::kModelReady);
  if (action == "stats") return get(RouteKind::kModelStats);
  if (action == "config") return get(RouteKind::kModelConfig);
  if (action == "infer") {
    r.kind = RouteKind::kModelInfer;
    r.methods = "POST";
    return r;
  }
  return Route{};
}

}  // namespace tide::http
