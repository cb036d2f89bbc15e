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

}  // namespace
}  // namespace tide::core
