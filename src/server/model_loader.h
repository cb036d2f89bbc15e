#pragma once

// Loads a model repository: for each model folder, its config, the versions
// its version_policy selects, the backend model, its instances and its
// scheduler; measures the resident memory each load adds; warms the model up
// before it is marked ready. Models that fail are reported, not fatal: that
// includes a folder or file that cannot be resolved (a symlink loop) or whose
// symlink escapes the repository (core::CheckModelFolder, CheckVersionFolder),
// and any exception a backend or the warm-up throws (std::bad_alloc becomes
// ResourceExhausted), so that no model can abort the process.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "backends/backend.h"
#include "core/inference_service.h"
#include "server/server_metrics.h"

namespace tide::server {

struct LoadOptions {
  std::string repository;
  size_t default_max_queue_size = 256;
  backends::BackendRegistry* backends = nullptr;  // may load plugins
  const ServerMetrics* metrics = nullptr;
  int cpu_count = 1;
  absl::Duration worker_idle_spin = absl::ZeroDuration();  // DynamicBatcher::Options::idle_spin
  // DynamicBatcher::Options::inline_max_execute
  absl::Duration inline_max_execute = absl::ZeroDuration();
};

struct LoadResult {
  std::vector<std::shared_ptr<core::LoadedModel>> loaded;
  std::vector<core::ModelState> failed;
  std::vector<std::string> warnings;
};

// Only a repository that cannot be read at all is an error. `only`, when
// given, names the models to load (explicit model control's --load-model);
// the others are listed in `not_loaded`.
absl::StatusOr<LoadResult> LoadRepository(const LoadOptions& options,
                                          const std::vector<std::string>* only = nullptr,
                                          std::vector<std::string>* not_loaded = nullptr);

// Loads every version of the model folder `name` (already checked to be a
// valid name inside the repository) into `result`, as LoadRepository does
// for each model.
void LoadModel(const LoadOptions& options, const std::string& name, LoadResult* result);

}  // namespace tide::server
