#include "backends/backend.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tide::backends {

absl::StatusOr<const BackendFactory*> BackendRegistry::Find(const std::string& name) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "unknown backend '", name, "' (this build has: ", absl::StrJoin(Names(), ", "), ")"));
  }
  return &it->second;
}

std::vector<std::string> BackendRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

}  // namespace tide::backends
