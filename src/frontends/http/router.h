#pragma once

// Maps a KServe V2 path to a route. Pure; unit-tested.

#include <string>
#include <string_view>

namespace tide::http {

enum class RouteKind {
  kNotFound,
  kBadRequest,       // malformed percent-escape
  kHealthLive,       // GET /v2/health/live
  kHealthReady,      // GET /v2/health/ready
  kServerMetadata,   // GET /v2
  kModelMetadata,    // GET /v2/models/{m}[/versions/{v}]
  kModelReady,       // GET /v2/models/{m}[/versions/{v}]/ready
  kModelInfer,       // POST /v2/models/{m}[/versions/{v}]/infer
  kModelStats,       // GET /v2/models/{m}[/versions/{v}]/stats
  kModelConfig,      // GET /v2/models/{m}[/versions/{v}]/config
  kAllStats,         // GET /v2/models/stats
  kRepositoryIndex,  // POST or GET /v2/repository/index
  kRepositoryLoad,   // POST /v2/repository/models/{m}/load
  // POST /v2/repository/models/{m}/unload
  kRepositoryUnload,
};

struct Route {
  RouteKind kind = RouteKind::kNotFound;
  std::string model;
  std::string version;       // "" = default
  const char* methods = "";  // allowed methods, for 405's Allow header

  bool Allows(std::string_view method) const;
};

// `path` is percent-encoded; segments are split first, then decoded, so a
// "%2F" inside a model name stays inside it (and is then refused as a name).
// A malformed escape yields kBadRequest.
Route MatchRoute(std::string_view path);

// Decodes %XX escapes; false on a malformed one.
bool PercentDecode(std::string_view in, std::string* out);

}  // namespace tide::http
