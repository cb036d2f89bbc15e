#include "core/inference_service.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "core/request_validator.h"

namespace tide::core {

bool LoadedModel::Admit() {
  absl::MutexLock lock(&admit_mu_);
  if (retired_) return false;
  ++admitted_;
  return true;
}

void LoadedModel::Release() {
  absl::MutexLock lock(&admit_mu_);
  --admitted_;
}

void LoadedModel::RetireAndWait() {
  absl::MutexLock lock(&admit_mu_);
  retired_ = true;
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(admit_mu_) { return admitted_ == 0; };
  admit_mu_.Await(absl::Condition(&idle));
}

InferenceService::InferenceService(Options options)
    : options_(options), snapshot_(std::make_shared<Snapshot>()) {}

InferenceService::~InferenceService() = default;

void InferenceService::SetModels(std::vector<std::shared_ptr<LoadedModel>> models,
                                 std::vector<ModelState> failed) {
  auto snap = std::make_shared<Snapshot>();
  for (auto& m : models) snap->models[m->spec.name][m->version] = m;
  snap->failed = std::move(failed);
  absl::MutexLock lock(&snapshot_mu_);
  snapshot_ = std::move(snap);
}

void InferenceService::EditSnapshot(const std::function<void(Snapshot*)>& edit) {
  absl::MutexLock lock(&snapshot_mu_);
  auto copy = std::make_shared<Snapshot>(*snapshot_);
  edit(copy.get());
  snapshot_ = std::move(copy);
}

void InferenceService::Retire(const std::vector<std::shared_ptr<LoadedModel>>& old) {
  for (const auto& m : old) {
    m->RetireAndWait();
    m->ready = false;
    m->scheduler->Shutdown();
  }
}

std::vector<std::shared_ptr<LoadedModel>> InferenceService::ReplaceModel(
    const std::string& name, std::vector<std::shared_ptr<LoadedModel>> versions) {
  std::vector<std::shared_ptr<LoadedModel>> old;
  EditSnapshot([&](Snapshot* s) {
    if (auto it = s->models.find(name); it != s->models.end()) {
      for (auto& [v, m] : it->second) old.push_back(m);
      s->models.erase(it);
    }
    for (auto& m : versions) s->models[name][m->version] = m;
    s->absent.erase(name);
    std::erase_if(s->failed, [&](const ModelState& f) { return f.name == name; });
  });
  Retire(old);
  return old;
}

std::vector<std::shared_ptr<LoadedModel>> InferenceService::UnloadModel(const std::string& name) {
  std::vector<std::shared_ptr<LoadedModel>> old;
  EditSnapshot([&](Snapshot* s) {
    if (auto it = s->models.find(name); it != s->models.end()) {
      for (auto& [v, m] : it->second) old.push_back(m);
      s->models.erase(it);
    }
    std::erase_if(s->failed, [&](const ModelState& f) { return f.name == name; });
    s->absent[name] = {"unloading", true};
  });
  Retire(old);
  EditSnapshot([&](Snapshot* s) { s->absent[name] = {"unloaded", false}; });
  return old;
}

void InferenceService::SetModelFailed(const std::string& name, std::vector<ModelState> failures) {
  EditSnapshot([&](Snapshot* s) {
    s->absent.erase(name);
    std::erase_if(s->failed, [&](const ModelState& f) { return f.name == name; });
    s->failed.insert(s->failed.end(), failures.begin(), failures.end());
  });
}

std::shared_ptr<const InferenceService::Snapshot> InferenceService::snapshot() const {
  absl::MutexLock lock(&snapshot_mu_);
  return snapshot_;
}

absl::StatusOr<std::shared_ptr<LoadedModel>> InferenceService::FindModel(
    std::string_view name_in, std::string_view version_in) const {
  const std::string name(name_in), version(version_in);
  auto snap = snapshot();
  auto it = snap->models.find(name);
  if (it == snap->models.end()) {
    if (auto a = snap->absent.find(name); a != snap->absent.end()) {
      if (a->second.unloading) {
        return absl::UnavailableError(
            absl::StrCat("model '", name, "' is being unloaded; no new requests are accepted"));
      }
      return absl::NotFoundError(absl::StrCat("model '", name, "' is not loaded (",
                                              a->second.reason, "; POST /v2/repository/models/",
                                              name, "/load loads it)"));
    }
    for (const ModelState& f : snap->failed) {
      if (f.name == name) {
        return absl::UnavailableError(
            absl::StrCat("model '", name, "' is not available: ", f.reason));
      }
    }
    return absl::NotFoundError(absl::StrCat("unknown model '", name, "'"));
  }
  if (version.empty()) {
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
      if (v->second->ready) return v->second;
    }
    return absl::UnavailableError(absl::StrCat("model '", name, "' has no ready version"));
  }
  int64_t v = 0;
  auto [ptr, err] = std::from_chars(version.data(), version.data() + version.size(), v);
  if (err != std::errc() || ptr != version.data() + version.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model version '", version, "' is not a number"));
  }
  auto vit = it->second.find(v);
  if (vit == it->second.end()) {
    return absl::NotFoundError(absl::StrCat("model '", name, "' has no version ", version));
  }
  if (!vit->second->ready) {
    return absl::UnavailableError(
        absl::StrCat("model '", name, "' version ", version, " is not ready"));
  }
  return vit->second;
}

std::vector<ModelState> InferenceService::Index() const {
  auto snap = snapshot();
  std::vector<ModelState> out;
  for (const auto& [name, versions] : snap->models) {
    for (const auto& [v, m] : versions) {
      out.push_back(
          {name, absl::StrCat(v), m->ready ? "READY" : "UNAVAILABLE", m->ready ? "" : "not ready"});
    }
  }
  out.insert(out.end(), snap->failed.begin(), snap->failed.end());
  for (const auto& [name, a] : snap->absent) out.push_back({name, "", "UNAVAILABLE", a.reason});
  std::sort(out.begin(), out.end(), [](const ModelState& a, const ModelState& b) {
    return std::tie(a.name, a.version) < std::tie(b.name, b.version);
  });
  return out;
}

absl::StatusOr<ModelMetadata> InferenceService::Metadata(std::string_view name,
                                                         std::string_view version) const {
  auto m = FindModel(name, version);
  if (!m.ok()) return m.status();
  const ModelSpec& spec = (*m)->spec;
  ModelMetadata md;
  md.name = spec.name;
  md.model = *m;
  {
    auto snap = snapshot();
    auto it = snap->models.find(spec.name);
    if (it != snap->models.end()) {
      for (const auto& [v, loaded] : it->second) md.versions.push_back(absl::StrCat(v));
    }
  }
  md.platform = spec.platform.empty() ? spec.backend : spec.platform;
  auto tensors = [&](const std::vector<TensorSpec>& specs, std::vector<TensorMetadata>* out) {
    for (const TensorSpec& t : specs) {
      TensorMetadata tm{t.name, t.datatype, t.dims};
      if (spec.max_batch_size > 0) tm.shape.insert(tm.shape.begin(), -1);
      out->push_back(std::move(tm));
    }
  };
  tensors(spec.inputs, &md.inputs);
  tensors(spec.outputs, &md.outputs);
  return md;
}

absl::StatusOr<bool> InferenceService::ModelReady(std::string_view name,
                                                  std::string_view version) const {
  auto m = FindModel(name, version);
  if (!m.ok() && m.status().code() == absl::StatusCode::kNotFound) {
    // An unloaded model is known (in the index), just not ready.
    if (version.empty() && snapshot()->absent.count(name)) return false;
    return m.status();
  }
  // A version that is not a number can never be ready: the caller's error
  // (400), not "not ready yet" (503, which tells a probe to wait).
  if (!m.ok() && m.status().code() == absl::StatusCode::kInvalidArgument) return m.status();
  return m.ok() && (*m)->ready;
}

void InferenceService::CountRejected(std::string_view name, std::string_view version,
                                     const absl::Status& why) const {
  if (auto m = FindModel(name, version); m.ok() && (*m)->observer) (*m)->observer->OnRejected(why);
}

std::vector<std::shared_ptr<LoadedModel>> InferenceService::Models() const {
  auto snap = snapshot();
  std::vector<std::shared_ptr<LoadedModel>> out;
  for (const auto& [name, versions] : snap->models) {
    for (const auto& [v, m] : versions) out.push_back(m);
  }
  return out;
}

bool InferenceService::IsReady() const {
  if (not_ready_) return false;
  if (!options_.strict_readiness) return true;
  auto snap = snapshot();
  if (!snap->failed.empty()) return false;
  for (const auto& [name, versions] : snap->models) {
    for (const auto& [v, m] : versions) {
      if (!m->ready) return false;
    }
  }
  return true;
}

void InferenceService::Infer(InferRequest request, InferCallback done) {
  std::shared_ptr<LoadedModel> m;
  // A version retired between the lookup and its admission (an unload or a
  // reload published a new snapshot first) is looked up again.
  for (int attempt = 0; !m; ++attempt) {
    auto model = FindModel(request.model_name, request.model_version);
    if (refusing_) {
      absl::Status s = absl::UnavailableError("server is shutting down; retry on another replica");
      if (model.ok() && (*model)->observer) (*model)->observer->OnRejected(s);  // as rejected
      done(s);
      return;
    }
    if (!model.ok()) {
      done(model.status());
      return;
    }
    if ((*model)->Admit()) {
      m = *std::move(model);
    } else if (attempt == 8) {
      done(absl::UnavailableError(
          absl::StrCat("model '", request.model_name, "' is being replaced; retry")));
      return;
    }
  }
  auto shape = ValidateRequest(m->spec, request);
  if (!shape.ok()) {
    if (m->observer) m->observer->OnRejected(shape.status());
    m->Release();
    done(shape.status());
    return;
  }
  auto pending = std::make_unique<PendingRequest>();
  pending->batch_size = shape->batch_size;
  pending->shape_key = std::move(shape->shape_key);
  pending->arrival = options_.clock->Now();
  absl::Duration timeout = m->spec.batching.default_timeout;
  if (request.timeout > absl::ZeroDuration() &&
      (m->spec.batching.allow_timeout_override || timeout == absl::ZeroDuration() ||
       request.timeout < timeout)) {
    timeout = request.timeout;
  }
  if (timeout > absl::ZeroDuration()) pending->deadline = pending->arrival + timeout;
  std::string version = absl::StrCat(m->version);
  {
    absl::MutexLock lock(&inflight_mu_);
    ++inflight_;
  }
  // The completion wrapper fills the response's identity and tracks in-flight.
  pending->done = [this, done = std::move(done), id = request.id, name = request.model_name,
                   version, m](absl::StatusOr<InferResponse> r) mutable {
    if (r.ok()) {
      r->id = id;
      r->model_name = name;
      r->model_version = version;
    }
    done(std::move(r));
    m->Release();
    Finished();
  };
  pending->request = std::move(request);
  // On refusal the scheduler has already answered through `done`.
  absl::Status s = m->scheduler->Enqueue(std::move(pending));
  if (!s.ok() && m->observer) m->observer->OnRejected(s);
}

void InferenceService::Finished() {
  absl::MutexLock lock(&inflight_mu_);
  --inflight_;
}

int64_t InferenceService::InFlight() const {
  absl::MutexLock lock(&inflight_mu_);
  return inflight_;
}

bool InferenceService::WaitIdle(absl::Duration timeout) {
  const absl::Time deadline = options_.clock->Now() + timeout;
  absl::MutexLock lock(&inflight_mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(inflight_mu_) { return inflight_ == 0; };
  return options_.clock->WaitUntil(&inflight_mu_, absl::Condition(&idle), deadline);
}

void InferenceService::Shutdown() {
  for (auto& m : Models()) m->scheduler->Shutdown();
}

}  // namespace tide::core
