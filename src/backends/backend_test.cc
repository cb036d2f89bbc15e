#include "backends/backend.h"

#include "gtest/gtest.h"

namespace tide::backends {
namespace {

TEST(BackendRegistry, BuiltInAndMissingPlugins) {
  BackendRegistry r;
  RegisterBuiltinBackends(&r);
  EXPECT_TRUE(r.Find("simulated").ok());
  r.SetPluginDirectories({"/nonexistent/a", "/nonexistent/b"});
  auto missing = r.Find("onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(missing.status().message()),
            "unknown backend 'onnx' (built in: simulated; no libtide_backend_onnx.so in "
            "/nonexistent/a, /nonexistent/b)");
  EXPECT_EQ(std::string(r.Find("../evil").status().message()),
            "'../evil' is not a valid backend name");
}

TEST(BackendRegistry, DefaultDirectoriesAreBesideTheExecutable) {
  auto dirs = BackendRegistry::DefaultPluginDirectories();
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(dirs[0].substr(dirs[0].size() - 9), "/backends");
  EXPECT_NE(dirs[1].find("/lib/tide/backends"), std::string::npos);
}

}  // namespace
}  // namespace tide::backends
