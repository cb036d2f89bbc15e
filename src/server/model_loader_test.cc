#include "server/model_loader.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "backends/simulated/simulated_backend.h"
#include "gtest/gtest.h"

namespace tide::server {
namespace {

namespace fs = std::filesystem;

// Throws from Execute: only the warm-up calls it here.
class ThrowingInstance final : public core::ModelInstance {
 public:
  std::vector<core::ExecuteResult> Execute(const std::vector<const core::InferRequest*>&,
                                           core::ExecuteTimings*) override {
    throw std::runtime_error("execute exploded");
  }
};

class ThrowingModel final : public backends::Model {
 public:
  absl::StatusOr<std::unique_ptr<core::ModelInstance>> CreateInstance(int) override {
    return std::make_unique<ThrowingInstance>();
  }
};

// A backend that throws what its model's `throw` parameter says.
absl::StatusOr<std::unique_ptr<backends::Model>> LoadThrowing(const backends::LoadContext& ctx) {
  const std::string what = ctx.spec->parameters.at("throw");
  if (what == "bad_alloc") throw std::bad_alloc();
  if (what == "runtime_error") throw std::runtime_error("the backend exploded");
  if (what == "int") throw 42;
  return std::make_unique<ThrowingModel>();  // "execute": throws in the warm-up
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("tide_loader_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    backends_.Register("simulated", backends::LoadSimulatedModel);
    backends_.Register("throwing", LoadThrowing);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Model(const std::string& name, const std::string& backend, const std::string& param) {
    fs::create_directories(root_ / name / "1");
    std::ofstream(root_ / name / "config.pbtxt")
        << "backend: \"" << backend << "\"\n"
        << "input { name: \"A\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
        << "output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
        << "parameters { key: \"" << (backend == "throwing" ? "throw" : "compute_ms")
        << "\" value { string_value: \"" << param << "\" } }\n";
  }
  LoadResult Load() {
    LoadOptions o;
    o.repository = root_.string();
    o.backends = &backends_;
    o.metrics = &metrics_;
    auto r = LoadRepository(o);
    EXPECT_TRUE(r.ok()) << r.status();
    return *std::move(r);
  }

  fs::path root_;
  backends::BackendRegistry backends_;
  metrics::Registry registry_;
  ServerMetrics metrics_ = ServerMetrics::Register(&registry_);
};

// No exception from a backend or its warm-up reaches the caller: each becomes
// that model's failure, and the other models load.
TEST_F(LoaderTest, ExceptionsFailOnlyTheirModel) {
  Model("alloc", "throwing", "bad_alloc");
  Model("execute", "throwing", "execute");
  Model("good", "simulated", "0");
  Model("int", "throwing", "int");
  Model("runtime", "throwing", "runtime_error");
  LoadResult r = Load();
  ASSERT_EQ(r.loaded.size(), 1u);
  EXPECT_EQ(r.loaded[0]->spec.name, "good");
  EXPECT_TRUE(r.loaded[0]->ready);
  const std::string root = root_.string();
  const std::vector<std::vector<std::string>> want = {
      {"alloc", "1", root + "/alloc/1: out of memory while loading (std::bad_alloc)"},
      {"execute", "1", root + "/execute/1: loading threw an exception: execute exploded"},
      {"int", "1", root + "/int/1: loading threw an exception of unknown type"},
      {"runtime", "1", root + "/runtime/1: loading threw an exception: the backend exploded"},
  };
  ASSERT_EQ(r.failed.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.failed[i].name, want[i][0]);
    EXPECT_EQ(r.failed[i].version, want[i][1]);
    EXPECT_EQ(r.failed[i].state, "UNAVAILABLE");
    EXPECT_EQ(r.failed[i].reason, want[i][2]);
    EXPECT_EQ(metrics_.model_ready->WithLabels({want[i][0], "1"})->Value(), 0);
  }
  EXPECT_EQ(metrics_.model_ready->WithLabels({"good", "1"})->Value(), 1);
}

// The repository rules reach the loader: a looping model folder and one
// whose symlink ends outside the repository fail with their reason; a link
// that passes outside but ends inside is followed.
TEST_F(LoaderTest, SymlinkLoopsAndEscapesFailTheirModel) {
  Model("good", "simulated", "0");
  const fs::path outside = root_.string() + "_outside";
  fs::remove_all(outside);
  fs::create_directories(outside / "escape" / "1");
  fs::copy_file(root_ / "good" / "config.pbtxt", outside / "escape" / "config.pbtxt");
  fs::create_directory_symlink(outside / "escape", root_ / "escape");
  fs::create_directory_symlink(root_ / "good", outside / "back");
  fs::create_directory_symlink(outside / "back", root_ / "alias");
  fs::create_directory_symlink("loop", root_ / "loop");
  LoadResult r = Load();
  ASSERT_EQ(r.loaded.size(), 2u);
  EXPECT_EQ(r.loaded[0]->spec.name, "alias");
  EXPECT_EQ(r.loaded[1]->spec.name, "good");
  const std::string root = root_.string();
  const std::string real_root = fs::canonical(root_).string();
  ASSERT_EQ(r.failed.size(), 2u);
  EXPECT_EQ(r.failed[0].name, "escape");
  EXPECT_EQ(r.failed[0].version, "");
  EXPECT_EQ(r.failed[0].reason, root +
                                    "/escape: symlink escapes the model repository (it "
                                    "resolves to " +
                                    fs::canonical(outside).string() + "/escape, outside " +
                                    real_root + ")");
  EXPECT_EQ(r.failed[1].name, "loop");
  EXPECT_EQ(r.failed[1].reason,
            root + "/loop: cannot be resolved: Too many levels of symbolic links");
  fs::remove_all(outside);
}

}  // namespace
}  // namespace tide::server
