#pragma once

// The facade every frontend talks to: find a model, validate a request, hand
// it to the model's scheduler, answer health and metadata questions, drain.
//
// Thread-safe. The set of models is an immutable snapshot swapped as a whole
// (SetModels), so request threads never lock per lookup beyond copying a
// shared_ptr.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "core/infer.h"
#include "core/model_config.h"
#include "core/observer.h"
#include "core/scheduler.h"

namespace tide::core {

// One loaded version of a model. Owned by the service's snapshot(s).
struct LoadedModel {
  ModelSpec spec;
  int64_t version = 1;
  // The backend's model (weights, shared state). Declared before the
  // scheduler so that the instances it runs are destroyed first.
  std::shared_ptr<void> keepalive;
  std::unique_ptr<Scheduler> scheduler;
  std::shared_ptr<RequestObserver> observer;
  int64_t memory_bytes = 0;  // resident memory the load added (measured)
  std::atomic<bool> ready{false};

  // Model control (unload, reload): a request is admitted to this version
  // before it is validated and queued, and released once answered. A retired
  // version admits nothing more; InferenceService looks the model up again
  // (the snapshot has changed by then), so no request is lost to a retirement.
  bool Admit();
  void Release();
  // Stops admitting and waits until every admitted request is answered.
  void RetireAndWait();

 private:
  absl::Mutex admit_mu_;
  int64_t admitted_ ABSL_GUARDED_BY(admit_mu_) = 0;
  bool retired_ ABSL_GUARDED_BY(admit_mu_) = false;
};

// A model folder the server knows of, loaded or not (repository index).
struct ModelState {
  std::string name;
  std::string version;  // "" when no version could be determined
  std::string state;    // READY, UNAVAILABLE
  std::string reason;   // why it is not READY
};

// What the V2 metadata endpoints (REST and gRPC) report for a model.
struct TensorMetadata {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;  // -1 for a variable dim, batch dim included
};
struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;  // every loaded version, ascending
  std::string platform;               // platform as configured, else the backend
  std::vector<TensorMetadata> inputs, outputs;
  std::shared_ptr<LoadedModel> model;  // the version asked for
};

class InferenceService {
 public:
  struct Options {
    const common::Clock* clock = common::MonotonicClock::Get();
    // Readiness requires every model in the repository to be ready (Triton's
    // --strict-readiness); otherwise it requires the server to be up.
    bool strict_readiness = true;
  };

  explicit InferenceService(Options options);
  ~InferenceService();

  // Replaces the served models. `failed` lists models that did not load.
  void SetModels(std::vector<std::shared_ptr<LoadedModel>> models, std::vector<ModelState> failed);

  // Model control. One control operation at a time (the caller serialises
  // them); requests keep flowing throughout.
  //
  // Serves `versions` as model `name` from the moment this is called (a load,
  // or a reload replacing what served before); the replaced versions finish
  // what they admitted, then their schedulers are shut down; returns them
  // after that.
  std::vector<std::shared_ptr<LoadedModel>> ReplaceModel(
      const std::string& name, std::vector<std::shared_ptr<LoadedModel>> versions);
  // Unloads `name`: new requests are answered Unavailable (503) at once while
  // the loaded versions finish what they admitted; then the schedulers are
  // shut down and the model is gone: NotFound (404), and the index lists it
  // UNAVAILABLE "unloaded" (as Triton). Returns the versions unloaded.
  std::vector<std::shared_ptr<LoadedModel>> UnloadModel(const std::string& name);
  // Records that `name` failed to load (no version of it is served).
  void SetModelFailed(const std::string& name, std::vector<ModelState> failures);

  // Runs `request`. `done` is called exactly once: inline for an immediate
  // error (unknown model, invalid input, queue full, draining), otherwise
  // later from a worker thread.
  void Infer(InferRequest request, InferCallback done);

  // The model version a request would use ("" = latest ready version).
  absl::StatusOr<std::shared_ptr<LoadedModel>> FindModel(std::string_view name,
                                                         std::string_view version) const;
  std::vector<ModelState> Index() const;
  // Metadata of the version FindModel would use.
  absl::StatusOr<ModelMetadata> Metadata(std::string_view name, std::string_view version) const;
  // Whether the model version is ready; NotFound for an unknown model or
  // version (a known but unavailable one, or an unloaded model, is simply
  // not ready).
  absl::StatusOr<bool> ModelReady(std::string_view name, std::string_view version) const;
  // Counts a request that never reached Infer (it could not be decoded)
  // against its model, if that model exists.
  void CountRejected(std::string_view name, std::string_view version,
                     const absl::Status& why) const;
  std::vector<std::shared_ptr<LoadedModel>> Models() const;

  bool IsLive() const { return true; }
  bool IsReady() const;

  // Lifecycle (SIGTERM): readiness turns false; after the drain delay new
  // work is refused with Unavailable; WaitIdle waits for accepted work.
  void SetNotReady() { not_ready_ = true; }
  void RefuseNewRequests() { refusing_ = true; }
  bool refusing() const { return refusing_; }
  // True if every accepted request finished within `timeout` (measured on
  // Options::clock).
  bool WaitIdle(absl::Duration timeout);
  int64_t InFlight() const;
  // Shuts every scheduler down (after WaitIdle).
  void Shutdown();

 private:
  struct Snapshot {
    // name → version → model
    std::map<std::string, std::map<int64_t, std::shared_ptr<LoadedModel>>, std::less<>> models;
    std::vector<ModelState> failed;
    // Models the control API unloaded: name → reason.
    // `unloading`: Unavailable while the unload waits for in-flight requests.
    struct Absent {
      std::string reason;
      bool unloading = false;
    };
    std::map<std::string, Absent, std::less<>> absent;
  };
  std::shared_ptr<const Snapshot> snapshot() const;
  // Copies the snapshot, lets `edit` change the copy, publishes it.
  void EditSnapshot(const std::function<void(Snapshot*)>& edit);
  // Retires `old` (waits for their admitted requests) and shuts them down.
  static void Retire(const std::vector<std::shared_ptr<LoadedModel>>& old);
  void Finished();

  Options options_;
  mutable absl::Mutex snapshot_mu_;
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(snapshot_mu_);
  std::atomic<bool> not_ready_{false};
  std::atomic<bool> refusing_{false};
  mutable absl::Mutex inflight_mu_;
  int64_t inflight_ ABSL_GUARDED_BY(inflight_mu_) = 0;
};

}  // namespace tide::core
