#include "frontends/http/router.h"

#include "gtest/gtest.h"

namespace tide::http {
namespace {

TEST(MatchRoute, Table) {
  struct Case {
    const char* path;
    RouteKind kind;
    const char* model;
    const char* version;
  } cases[] = {
      {"/v2", RouteKind::kServerMetadata, "", ""},
      {"/v2/", RouteKind::kServerMetadata, "", ""},
      {"/v2/health/live", RouteKind::kHealthLive, "", ""},
      {"/v2/health/ready", RouteKind::kHealthReady, "", ""},
      {"/v2/health/other", RouteKind::kNotFound, "", ""},
      {"/v2/models/simple", RouteKind::kModelMetadata, "simple", ""},
      {"/v2/models/simple/versions/3", RouteKind::kModelMetadata, "simple", "3"},
      {"/v2/models/simple/ready", RouteKind::kModelReady, "simple", ""},
      {"/v2/models/simple/versions/2/ready", RouteKind::kModelReady, "simple", "2"},
      {"/v2/models/simple/infer", RouteKind::kModelInfer, "simple", ""},
      {"/v2/models/simple/versions/1/infer", RouteKind::kModelInfer, "simple", "1"},
      {"/v2/models/simple/stats", RouteKind::kModelStats, "simple", ""},
      {"/v2/models/stats", RouteKind::kAllStats, "", ""},
      {"/v2/repository/index", RouteKind::kRepositoryIndex, "", ""},
      {"/v2/repository/models/simple/load", RouteKind::kRepositoryLoad, "simple", ""},
      {"/v2/repository/models/simple/unload", RouteKind::kRepositoryUnload, "simple", ""},
      {"/v2/repository/models/%2e%2e%2fetc/load", RouteKind::kRepositoryLoad, "../etc", ""},
      {"/v2/repository/models/../load", RouteKind::kRepositoryLoad, "..", ""},
      {"/v2/repository/models//load", RouteKind::kNotFound, "", ""},
      {"/v2/repository/models/simple/reload", RouteKind::kNotFound, "", ""},
      {"/v2/models/simple/versions//infer", RouteKind::kNotFound, "", ""},
      {"/v2/models/simple/explain", RouteKind::kNotFound, "", ""},
      {"/v1/models/simple", RouteKind::kNotFound, "", ""},
      {"/", RouteKind::kNotFound, "", ""},
      {"", RouteKind::kNotFound, "", ""},
      {"/v2/models/a%2Fb/infer", RouteKind::kModelInfer, "a/b", ""},
      {"/v2/models/my%20model", RouteKind::kModelMetadata, "my model", ""},
      {"/v2/models/x%zz", RouteKind::kBadRequest, "", ""},
      // Several escaped segments, decoded longer than a short string holds.
      {"/%76%32/models/abcdefghijklmnopqrstuvwxyz%41/versions/%31%32/infer", RouteKind::kModelInfer,
       "abcdefghijklmnopqrstuvwxyzA", "12"},
      {"/v2/models/%61/versions/%33/ready", RouteKind::kModelReady, "a", "3"},
      {"/v2/models/a/versions/1/%zz", RouteKind::kBadRequest, "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    Route r = MatchRoute(c.path);
    EXPECT_EQ(r.kind, c.kind);
    EXPECT_EQ(r.model, c.model);
    EXPECT_EQ(r.version, c.version);
  }
  EXPECT_TRUE(MatchRoute("/v2/models/m/infer").Allows("POST"));
  EXPECT_FALSE(MatchRoute("/v2/models/m/infer").Allows("GET"));
  EXPECT_TRUE(MatchRoute("/v2/health/ready").Allows("HEAD"));
  EXPECT_TRUE(MatchRoute("/v2/repository/models/m/load").Allows("POST"));
  EXPECT_FALSE(MatchRoute("/v2/repository/models/m/unload").Allows("GET"));
}

}  // namespace
}  // namespace tide::http
