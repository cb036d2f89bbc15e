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

namespace {

// A directory entry's type could not be read for a reason other than a
// dangling link (ELOOP, EACCES): the entry is kept so that its check says why.
bool Unreadable(const std::error_code& ec) {
  return ec && ec != std::errc::no_such_file_or_directory;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ListModels(const std::string& repository,
                                                    std::vector<std::string>* warnings) {
  std::error_code ec;
  if (!fs::is_directory(repository, ec)) {
    return absl::NotFoundError(
        absl::StrCat("model repository '", repository, "' is not a directory"));
  }
  std::vector<std::string> names;
  fs::directory_iterator it(repository, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& e = *it;
    std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_ec;
    const bool is_dir = e.is_directory(type_ec);
    if (!is_dir && !Unreadable(type_ec)) continue;
    if (!ValidateModelName(name).ok()) {
      if (warnings)
        warnings->push_back(
            absl::StrCat(e.path().string(), ": skipped, '", name, "' is not a valid model name"));
      continue;
    }
    std::error_code config_ec;
    if (is_dir && !fs::exists(e.path() / "config.pbtxt", config_ec) && !Unreadable(config_ec)) {
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
  fs::directory_iterator it(model_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string n = it->path().filename().string();
    int64_t v = 0;
    auto [ptr, err] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (err != std::errc() || ptr != n.data() + n.size() || v < 1) continue;
    std::error_code type_ec;
    if (!it->is_directory(type_ec) && !Unreadable(type_ec)) continue;
    found.push_back(v);
  }
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat(model_dir, ": cannot be read: ", ec.message()));
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

absl::StatusOr<std::string> ResolveInRepository(const std::string& repository,
                                                const std::string& path) {
  std::error_code ec;
  const fs::path root = fs::canonical(repository, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat(repository, ": cannot be resolved: ", ec.message()));
  }
  const fs::path target = fs::canonical(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot be resolved: ", ec.message()));
  }
  auto [r, t] = std::mismatch(root.begin(), root.end(), target.begin(), target.end());
  if (r == root.end() && t == target.end()) {
    return absl::PermissionDeniedError(absl::StrCat(
        path, ": symlink resolves to the model repository itself (", root.string(), ")"));
  }
  if (r != root.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": symlink escapes the model repository (it resolves to ",
                     target.string(), ", outside ", root.string(), ")"));
  }
  return target.string();
}

absl::Status CheckModelFolder(const std::string& repository, const std::string& name) {
  const std::string dir = absl::StrCat(repository, "/", name);
  absl::StatusOr<std::string> real = ResolveInRepository(repository, dir);
  if (!real.ok()) return real.status();
  const std::string config = dir + "/config.pbtxt";
  absl::StatusOr<std::string> real_config = ResolveInRepository(repository, config);
  if (!real_config.ok()) return real_config.status();
  std::error_code ec;
  if (!fs::is_regular_file(*real_config, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(config, ": not a regular file"));
  }
  return absl::OkStatus();
}

absl::Status CheckVersionFolder(const std::string& repository, const std::string& version_dir) {
  absl::StatusOr<std::string> real = ResolveInRepository(repository, version_dir);
  if (!real.ok()) return real.status();
  // Directory symlinks are not followed, so only symlinks can lead outside.
  std::error_code ec;
  fs::recursive_directory_iterator it(version_dir, fs::directory_options::skip_permission_denied,
                                      ec),
      end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    if (!it->is_symlink(link_ec)) continue;
    absl::StatusOr<std::string> file = ResolveInRepository(repository, it->path().string());
    if (!file.ok()) return file.status();
  }
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat(version_dir, ": cannot be read: ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace tide::core
