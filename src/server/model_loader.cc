#include "server/model_loader.h"

#include <algorithm>
#include <exception>
#include <new>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "batching/dynamic_batcher.h"
#include "common/status_macros.h"
#include "core/model_repository.h"
#include "metrics/process_collector.h"
#include "server/warmup.h"
#include "spdlog/spdlog.h"

namespace tide::server {
namespace {

// A model's `parameters { key: <key> ... }` in microseconds (0 to 100000),
// or the server's default when absent.
absl::StatusOr<absl::Duration> MicrosecondsParameter(const core::ModelSpec& spec, const char* key,
                                                     absl::Duration fallback) {
  auto it = spec.parameters.find(key);
  if (it == spec.parameters.end()) return fallback;
  int64_t us = 0;
  if (!absl::SimpleAtoi(it->second, &us) || us < 0 || us > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path, ": parameter '", key, "': '", it->second,
                     "' is not a whole number of microseconds from 0 to 100000"));
  }
  return absl::Microseconds(us);
}

// Exceptions stop here: one escaping a model's load (a backend, its warm-up,
// an allocation) becomes that model's failure instead of aborting the process.
template <typename F>
auto Guarded(const std::string& where, F&& load) -> decltype(load()) {
  try {
    return load();
  } catch (const std::bad_alloc& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat(where, ": out of memory while loading (", e.what(), ")"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(where, ": loading threw an exception: ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(where, ": loading threw an exception of unknown type"));
  }
}

absl::StatusOr<std::shared_ptr<core::LoadedModel>> LoadVersion(const LoadOptions& o,
                                                               const core::ModelSpec& spec,
                                                               const std::string& model_dir,
                                                               int64_t version) {
  // --worker-spin-us and --inline-execute-max-us unless the model says.
  absl::StatusOr<absl::Duration> spin =
      MicrosecondsParameter(spec, "TIDE_WORKER_SPIN_MICROSECONDS", o.worker_idle_spin);
  if (!spin.ok()) return spin.status();
  absl::StatusOr<absl::Duration> inline_max =
      MicrosecondsParameter(spec, "TIDE_INLINE_EXECUTE_MAX_MICROSECONDS", o.inline_max_execute);
  if (!inline_max.ok()) return inline_max.status();
  absl::Time start = absl::Now();
  int64_t rss_before = metrics::ResidentMemoryBytes();
  auto lm = std::make_shared<core::LoadedModel>();
  lm->spec = spec;
  lm->version = version;
  auto factory = o.backends->Find(spec.backend);
  if (!factory.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path, ": field 'backend': ", factory.status().message()));
  }
  backends::LoadContext ctx{&lm->spec, model_dir, version, absl::StrCat(model_dir, "/", version),
                            o.cpu_count};
  auto model = (**factory)(ctx);
  if (!model.ok()) return model.status();
  std::vector<std::unique_ptr<core::ModelInstance>> instances;
  for (int i = 0; i < spec.instance_count; ++i) {
    auto inst = (*model)->CreateInstance(i);
    if (!inst.ok()) return inst.status();
    instances.push_back(*std::move(inst));
  }
  if (absl::Status s = WarmUp(lm->spec, instances); !s.ok()) return s;
  std::string v = absl::StrCat(version);
  lm->observer = std::make_shared<MetricsObserver>(*o.metrics, spec.name, v);
  batching::DynamicBatcher::Options bo;
  bo.spec = spec;
  bo.max_queue_size =
      spec.batching.max_queue_size ? spec.batching.max_queue_size : o.default_max_queue_size;
  bo.instances = std::move(instances);
  bo.observer = lm->observer;
  bo.idle_spin = *spin;
  bo.inline_max_execute = *inline_max;
  auto batcher = batching::DynamicBatcher::Create(std::move(bo));
  if (!batcher.ok()) return batcher.status();
  lm->scheduler = *std::move(batcher);
  lm->keepalive = std::shared_ptr<backends::Model>(std::move(*model));
  lm->memory_bytes = std::max<int64_t>(0, metrics::ResidentMemoryBytes() - rss_before);
  absl::Duration took = absl::Now() - start;
  o.metrics->model_memory->WithLabels({spec.name, v})->Set(static_cast<double>(lm->memory_bytes));
  o.metrics->model_load_seconds->WithLabels({spec.name, v})->Set(absl::ToDoubleSeconds(took));
  o.metrics->model_ready->WithLabels({spec.name, v})->Set(1);
  std::string desc = static_cast<backends::Model*>(lm->keepalive.get())->Describe();
  spdlog::info(
      "loaded model '{}' version {} (backend {}, {} instance(s), {:.1f} MiB, {:.0f} ms){}{}",
      spec.name, version, spec.backend, spec.instance_count,
      static_cast<double>(lm->memory_bytes) / (1 << 20), absl::ToDoubleMilliseconds(took),
      desc.empty() ? "" : ": ", desc);
  lm->ready = true;
  return lm;
}

}  // namespace

absl::StatusOr<LoadResult> LoadRepository(const LoadOptions& o,
                                          const std::vector<std::string>* only,
                                          std::vector<std::string>* not_loaded) {
  LoadResult result;
  auto names = core::ListModels(o.repository, &result.warnings);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (only && std::find(only->begin(), only->end(), name) == only->end() &&
        std::find(only->begin(), only->end(), "*") == only->end()) {
      if (not_loaded) not_loaded->push_back(name);
      continue;
    }
    LoadModel(o, name, &result);
  }
  return result;
}

void LoadModel(const LoadOptions& o, const std::string& name, LoadResult* out) {
  LoadResult& result = *out;
  {
    std::string dir = absl::StrCat(o.repository, "/", name);
    auto fail = [&](const std::string& version, const absl::Status& s) {
      result.failed.push_back({name, version, "UNAVAILABLE", std::string(s.message())});
      if (o.metrics && !version.empty())
        o.metrics->model_ready->WithLabels({name, version})->Set(0);
    };
    auto spec = Guarded(dir, [&]() -> absl::StatusOr<core::ModelSpec> {
      RETURN_IF_ERROR(core::CheckModelFolder(o.repository, name));
      return core::LoadModelConfig(dir, name);
    });
    if (!spec.ok()) {
      fail("", spec.status());
      return;
    }
    for (const std::string& w : spec->warnings) result.warnings.push_back(w);
    auto versions = Guarded(dir, [&] { return core::SelectVersions(dir, spec->version_policy); });
    if (!versions.ok()) {
      fail("", versions.status());
      return;
    }
    for (int64_t v : *versions) {
      const std::string version_dir = absl::StrCat(dir, "/", v);
      auto lm = Guarded(version_dir, [&]() -> absl::StatusOr<std::shared_ptr<core::LoadedModel>> {
        RETURN_IF_ERROR(core::CheckVersionFolder(o.repository, version_dir));
        return LoadVersion(o, *spec, dir, v);
      });
      if (!lm.ok()) {
        fail(absl::StrCat(v), lm.status());
        continue;
      }
      result.loaded.push_back(*std::move(lm));
    }
  }
}

}  // namespace tide::server
