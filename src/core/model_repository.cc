#include "core/model_repository.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tide::core {

namespace fs = std::filesystem;

absl::Status ValidateModelName(std::string_view name_in) {
  const std::string name(name_in);
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError("model name must be 1 to 128 characters");
  }
  if (name[0] == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat("model name '", name, "' must not start with '.'"));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model name '", name, "' may only contain letters, digits, '_', '-' and '.'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListModels(const std::string& repository,
                                                    std::vector<std::string>* warnings) {
  std::error_code ec;
  if (!fs::is_directory(repository, ec)) {
    return absl::NotFoundError(
        absl::StrCat("model repository '", repository, "' is not a directory"));
  }
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(repository, ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!e.is_directory()) continue;
    if (!ValidateModelName(name).ok()) {
      if (warnings)
        warnings->push_back(
            absl::StrCat(e.path().string(), ": skipped, '", name, "' is not a valid model name"));
      continue;
    }
    if (!fs::exists(e.path() / "config.pbtxt")) {
      if (warnings)
        warnings->push_back(absl::StrCat(e.path().string(), ": skipped, it has no config.pbtxt"));
      continue;
    }
    names.push_back(name);
  }
  if (ec) return absl::InternalError(absl::StrCat(repository, ": ", ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::vector<int64_t>> SelectVersions(const std::string& model_dir,
                                                    const VersionPolicy& policy) {
  std::vector<int64_t> found;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(model_dir, ec)) {
    if (!e.is_directory()) continue;
    std::string n = e.path().filename().string();
    int64_t v = 0;
    auto [ptr, err] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (err != std::errc() || ptr != n.data() + n.size() || v < 1) continue;
    found.push_back(v);
  }
  std::sort(found.rbegin(), found.rend());
  std::vector<int64_t> chosen;
  switch (policy.kind) {
    case VersionPolicy::Kind::kAll:
      chosen = found;
      break;
    case VersionPolicy::Kind::kLatest:
      chosen.assign(found.begin(),
                    found.begin() + std::min<size_t>(found.size(), policy.num_versions));
      break;
    case VersionPolicy::Kind::kSpecific:
      for (int64_t v : found) {
        if (std::find(policy.versions.begin(), policy.versions.end(), v) != policy.versions.end()) {
          chosen.push_back(v);
        }
      }
      break;
  }
  if (chosen.empty()) {
    return absl::NotFoundError(
        absl::StrCat(model_dir, ": no version folder to serve (found [", absl::StrJoin(found, ","),
                     "]; create a numbered folder such as ", model_dir, "/1)"));
  }
  return chosen;
}

}  // namespace tide::core
