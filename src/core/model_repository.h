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
absl::StatusOr<std::vector<std::string>> ListModels(const std::string& repository,
                                                    std::vector<std::string>* warnings);

// The numbered version folders of `model_dir` that `policy` selects, highest
// first. NotFound if none is left.
absl::StatusOr<std::vector<int64_t>> SelectVersions(const std::string& model_dir,
                                                    const VersionPolicy& policy);

}  // namespace tide::core
