#include "core/model_repository.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace tide::core {
namespace {

namespace fs = std::filesystem;

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("tide_repo_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Model(const std::string& name, std::vector<std::string> versions) {
    fs::create_directories(root_ / name);
    std::ofstream(root_ / name / "config.pbtxt") << "backend: \"simulated\"\n";
    for (auto& v : versions) fs::create_directories(root_ / name / v);
  }
  fs::path root_;
};

TEST(ModelName, RejectsEscapes) {
  EXPECT_TRUE(ValidateModelName("resnet-50_v1.2").ok());
  EXPECT_FALSE(ValidateModelName("..").ok());
  EXPECT_FALSE(ValidateModelName("../etc").ok());
  EXPECT_FALSE(ValidateModelName("a/b").ok());
  EXPECT_FALSE(ValidateModelName("").ok());
  EXPECT_FALSE(ValidateModelName(".hidden").ok());
  EXPECT_FALSE(ValidateModelName(std::string(129, 'a')).ok());
  EXPECT_FALSE(ValidateModelName("a b").ok());
}

TEST_F(RepoTest, ListsModelFoldersWithConfig) {
  Model("b", {"1"});
  Model("a", {"1"});
  fs::create_directories(root_ / "no_config");
  fs::create_directories(root_ / ".git");
  std::vector<std::string> warnings;
  auto names = ListModels(root_.string(), &warnings);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("no_config: skipped, it has no config.pbtxt"), std::string::npos);
  EXPECT_EQ(ListModels((root_ / "missing").string(), nullptr).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RepoTest, VersionPolicySelection) {
  Model("m", {"1", "2", "10", "x", "0"});
  std::string dir = (root_ / "m").string();
  VersionPolicy latest;
  EXPECT_EQ(*SelectVersions(dir, latest), (std::vector<int64_t>{10}));
  latest.num_versions = 2;
  EXPECT_EQ(*SelectVersions(dir, latest), (std::vector<int64_t>{10, 2}));
  VersionPolicy all{VersionPolicy::Kind::kAll};
  EXPECT_EQ(*SelectVersions(dir, all), (std::vector<int64_t>{10, 2, 1}));
  VersionPolicy specific{VersionPolicy::Kind::kSpecific, 1, {1, 7}};
  EXPECT_EQ(*SelectVersions(dir, specific), (std::vector<int64_t>{1}));
  Model("empty", {});
  EXPECT_EQ(SelectVersions((root_ / "empty").string(), latest).status().code(),
            absl::StatusCode::kNotFound);
}

// A symlink loop as a model folder, a config or a version folder does not
// throw: it is listed, so the loader reports it as that model's failure.
TEST_F(RepoTest, SymlinkLoopsAreListedNotThrown) {
  Model("a", {"1"});
  fs::create_directory_symlink("loop", root_ / "loop");  // loop -> itself
  fs::create_directories(root_ / "c");
  fs::create_symlink("config.pbtxt", root_ / "c" / "config.pbtxt");
  Model("m", {"1"});
  fs::create_directory_symlink("2", root_ / "m" / "2");
  fs::create_directory_symlink("nowhere", root_ / "m" / "3");  // dangling: not a version
  std::vector<std::string> warnings;
  auto names = ListModels(root_.string(), &warnings);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "c", "loop", "m"}));
  EXPECT_TRUE(warnings.empty());
  VersionPolicy all{VersionPolicy::Kind::kAll};
  EXPECT_EQ(*SelectVersions((root_ / "m").string(), all), (std::vector<int64_t>{2, 1}));

  const std::string root = root_.string();
  absl::Status loop = CheckModelFolder(root, "loop");
  EXPECT_EQ(loop.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(loop.message()),
            root + "/loop: cannot be resolved: Too many levels of symbolic links");
  EXPECT_EQ(std::string(CheckModelFolder(root, "c").message()),
            root + "/c/config.pbtxt: cannot be resolved: Too many levels of symbolic links");
  EXPECT_EQ(std::string(CheckVersionFolder(root, root + "/m/2").message()),
            root + "/m/2: cannot be resolved: Too many levels of symbolic links");
  EXPECT_TRUE(CheckModelFolder(root, "m").ok());
  EXPECT_TRUE(CheckVersionFolder(root, root + "/m/1").ok());
}

// Kubernetes mounts a ConfigMap as symlinks through `..data`: links that stay
// inside the repository are followed, even when the repository path is a link.
TEST_F(RepoTest, SymlinksInsideTheRepositoryAreFollowed) {
  const fs::path m = root_ / "simulated";
  const std::string stamp = "..2026_01_01_00_00_00.000000001";
  fs::create_directories(m / stamp / "1");
  std::ofstream(m / stamp / "config.pbtxt") << "backend: \"simulated\"\n";
  std::ofstream(m / stamp / "1" / "model.pt") << "weights";
  fs::create_directory_symlink(stamp, m / "..data");
  fs::create_symlink("..data/config.pbtxt", m / "config.pbtxt");
  fs::create_directory_symlink("..data/1", m / "1");
  fs::create_directory_symlink("simulated", root_ / "alias");
  fs::create_directories(root_ / "alias2" / "1");
  fs::create_symlink("../../simulated/1/model.pt", root_ / "alias2" / "1" / "model.pt");
  const fs::path link = root_.string() + "_link";
  fs::remove(link);
  fs::create_directory_symlink(root_, link);
  const std::string real = fs::canonical(root_).string();
  for (const std::string& root : {root_.string(), link.string()}) {
    EXPECT_TRUE(CheckModelFolder(root, "simulated").ok()) << root;
    EXPECT_TRUE(CheckModelFolder(root, "alias").ok()) << root;
    EXPECT_TRUE(CheckVersionFolder(root, root + "/simulated/1").ok()) << root;
    EXPECT_TRUE(CheckVersionFolder(root, root + "/alias2/1").ok()) << root;
    EXPECT_EQ(*ResolveInRepository(root, root + "/alias/1/model.pt"),
              real + "/simulated/" + stamp + "/1/model.pt");
  }
  fs::remove(link);
}

// A model folder, config, version folder or model file whose symlink leads
// outside the canonical repository root is refused, naming the target.
TEST_F(RepoTest, SymlinksThatEscapeTheRepositoryAreRefused) {
  const fs::path outside = root_.string() + "_outside";
  fs::remove_all(outside);
  fs::create_directories(outside / "m" / "1");
  std::ofstream(outside / "m" / "config.pbtxt") << "backend: \"simulated\"\n";
  std::ofstream(outside / "model.pt") << "weights";
  const std::string out = fs::canonical(outside).string();
  const std::string root = root_.string();
  const std::string real = fs::canonical(root_).string();
  auto escapes = [&](const std::string& path, const std::string& target) {
    return path + ": symlink escapes the model repository (it resolves to " + target +
           ", outside " + real + ")";
  };
  fs::create_directory_symlink(outside / "m", root_ / "escape");
  fs::create_directories(root_ / "cfg");
  fs::create_symlink(outside / "m" / "config.pbtxt", root_ / "cfg" / "config.pbtxt");
  Model("v", {"2", "3/sub"});
  fs::create_directory_symlink(outside / "m" / "1", root_ / "v" / "1");
  fs::create_symlink(outside / "model.pt", root_ / "v" / "2" / "model.pt");
  fs::create_symlink("../../../../" + outside.filename().string() + "/model.pt",
                     root_ / "v" / "3" / "sub" / "model.pt");
  fs::create_directory_symlink(".", root_ / "self");

  absl::Status s = CheckModelFolder(root, "escape");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(s.message()), escapes(root + "/escape", out + "/m"));
  EXPECT_EQ(std::string(CheckModelFolder(root, "cfg").message()),
            escapes(root + "/cfg/config.pbtxt", out + "/m/config.pbtxt"));
  EXPECT_TRUE(CheckModelFolder(root, "v").ok());
  EXPECT_EQ(std::string(CheckVersionFolder(root, root + "/v/1").message()),
            escapes(root + "/v/1", out + "/m/1"));
  EXPECT_EQ(std::string(CheckVersionFolder(root, root + "/v/2").message()),
            escapes(root + "/v/2/model.pt", out + "/model.pt"));
  EXPECT_EQ(std::string(CheckVersionFolder(root, root + "/v/3").message()),
            escapes(root + "/v/3/sub/model.pt", out + "/model.pt"));
  EXPECT_EQ(std::string(CheckModelFolder(root, "self").message()),
            root + "/self: symlink resolves to the model repository itself (" + real + ")");
  fs::remove_all(outside);
}

}  // namespace
}  // namespace tide::core
