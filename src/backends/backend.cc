#include "backends/backend.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model_repository.h"

namespace tide::backends {

namespace fs = std::filesystem;

std::vector<std::string> BackendRegistry::DefaultPluginDirectories() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  fs::path dir = exe.parent_path();
  return {(dir / "backends").string(),
          (dir / ".." / "lib" / "tide" / "backends").lexically_normal().string()};
}

absl::Status BackendRegistry::LoadPlugin(const std::string& name) {
  // Backend names come from config files: keep them to plain file names.
  if (!core::ValidateModelName(name).ok()) {
    return absl::NotFoundError(absl::StrCat("'", name, "' is not a valid backend name"));
  }
  std::string file = absl::StrCat("libtide_backend_", name, ".so");
  for (const std::string& dir : plugin_dirs_) {
    std::string path = absl::StrCat(dir, "/", file);
    if (access(path.c_str(), R_OK) != 0) continue;
    // Never closed: registered factories point into it.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load backend plugin ", path, ": ", dlerror()));
    }
    using RegisterFn = void (*)(BackendRegistry*);
    auto fn = reinterpret_cast<RegisterFn>(dlsym(handle, "TideRegisterBackend"));
    if (fn == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("backend plugin ", path, " has no TideRegisterBackend entry point"));
    }
    fn(this);
    if (!factories_.count(name)) {
      return absl::FailedPreconditionError(
          absl::StrCat("backend plugin ", path, " did not register backend '", name, "'"));
    }
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat(
      "unknown backend '", name, "' (built in: ", absl::StrJoin(Names(), ", "), "; no ", file,
      " in ", plugin_dirs_.empty() ? "any plugin directory" : absl::StrJoin(plugin_dirs_, ", "),
      ")"));
}

absl::StatusOr<const BackendFactory*> BackendRegistry::Find(const std::string& name) {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    if (absl::Status s = LoadPlugin(name); !s.ok()) return s;
    it = factories_.find(name);
  }
  return &it->second;
}

std::vector<std::string> BackendRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

}  // namespace tide::backends
