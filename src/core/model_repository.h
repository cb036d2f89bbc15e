#pragma once

// Triton's model repository layout on disk:
//   <repo>/<model>/config.pbtxt
//   <repo>/<model>/<version>/...      (numbered folders; the backend's files)
// This only reads the layout; loading is the server's job.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model_config.h"

namespace tide::core {

// A model name is what may appear in a URL and a folder name: 1-128 chars of
// [A-Za-z0-9_.-], not starting with '.'. This keeps names from escaping the
// repository ("..", "/", "%2F" decoded).
absl::Status ValidateModelName(std::string_view name);

// Sorted names of the repository's model folders (those holding config.pbtxt;
// other entries are skipped, hidden ones silently, the rest with a warning).
// An entry with a valid name whose type cannot be read (a symlink loop) is
// listed, so that CheckModelFolder reports it as that model's failure. Never
// throws; only a repository that cannot be read is an error.
absl::StatusOr<std::vector<std::string>> ListModels(const std::string& repository,
                                                    std::vector<std::string>* warnings);

// The numbered version folders of `model_dir` that `policy` selects, highest
// first. NotFound if none is left. A numbered entry whose type cannot be read
// (a symlink loop) counts as a version, so that CheckVersionFolder reports it.
absl::StatusOr<std::vector<int64_t>> SelectVersions(const std::string& model_dir,
                                                    const VersionPolicy& policy);

// The canonical path of `path`, a folder or file under `repository`.
// Symlinks are followed and may point anywhere inside the canonical
// repository root (Kubernetes' ConfigMap volumes are made of them); one that
// resolves outside it is refused: "<path>: symlink escapes the model
// repository (it resolves to <target>, outside <root>)". A path that cannot be
// resolved (a symlink loop, a dangling link) is FailedPrecondition
// "<path>: cannot be resolved: <why>".
absl::StatusOr<std::string> ResolveInRepository(const std::string& repository,
                                                const std::string& path);

// Checks `<repository>/<name>` and its config.pbtxt with ResolveInRepository;
// the config must also be a regular file.
absl::Status CheckModelFolder(const std::string& repository, const std::string& name);

// Checks a version folder and every symlink below it (the backend's files)
// with ResolveInRepository.
absl::Status CheckVersionFolder(const std::string& repository, const std::string& version_dir);

}  // namespace tide::core
