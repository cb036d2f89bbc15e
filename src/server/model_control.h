#pragma once

// Model control for `tide serve --model-control-mode explicit`: the bearer
// token check, the model-name check, and loads, reloads and unloads run one
// at a time on a control thread while requests keep flowing (the swap itself
// is InferenceService::ReplaceModel / UnloadModel). Every request is counted
// in tide_model_control_requests_total{action,result}. With
// `trust_loopback` (--model-control-trust-loopback), a gRPC request without
// a token from exactly 127.0.0.1 or ::1 (IsLoopbackGrpcPeer) is admitted:
// counted under result "loopback_trusted" (and then its outcome as usual)
// and logged.

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/model_control.h"
#include "metrics/metrics.h"
#include "server/model_loader.h"

namespace tide::server {

// Equality whose time depends only on the length of `given`, never on where
// it first differs from `expected`.
bool ConstantTimeEquals(std::string_view given, std::string_view expected);

// `authorization` must be "Bearer <token>" (scheme case-insensitive) with
// `token`: Unauthenticated when there is no bearer token, PermissionDenied
// when it is not `token`.
absl::Status CheckBearer(std::string_view authorization, std::string_view token);

// Whether `name` may be loaded or unloaded from `repository`: InvalidArgument
// for a name that is not a model folder name (core::ValidateModelName: "..",
// "/", NUL, a leading dot, ...) or whose folder resolves (realpath) outside
// the repository; NotFound when `must_exist` and there is no such folder.
// Only the folder's path is resolved: nothing in it is opened.
absl::Status CheckControlName(const std::string& repository, const std::string& name,
                              bool must_exist);

// The token from --admin-token-file (its first line, surrounding whitespace
// removed) or else from `env_token` (TIDE_ADMIN_TOKEN); the file wins.
// InvalidArgument when the file cannot be read or the token is empty.
absl::StatusOr<std::string> ReadAdminToken(const std::string& token_file, const char* env_token);

class ModelControlService final : public core::ModelControl {
 public:
  struct Options {
    bool enabled = false;  // --model-control-mode explicit
    // Required when enabled, unless trust_loopback: then "" means only
    // loopback gRPC callers may control models (others get Unauthenticated).
    std::string token;
    bool trust_loopback = false;                // --model-control-trust-loopback; needs enabled
    core::InferenceService* service = nullptr;  // not owned; outlives this
    LoadOptions load;                           // repository, backends, metrics
    // tide_model_control_requests_total{action,result}; not owned.
    metrics::Family<metrics::Counter>* requests = nullptr;
  };
  static absl::StatusOr<std::unique_ptr<ModelControlService>> Create(Options options);
  ~ModelControlService() override;  // Stop()
  // Finishes the queued operations; later ones are refused Unavailable.
  // Call before the frontends shut down, so that none waits on a load.
  // Waits until `deadline`; false if an operation is still under way then
  // (a load still loading, an unload waiting for requests to finish): its
  // thread is left running, and the caller should exit.
  bool Stop(absl::Time deadline = absl::InfiniteFuture());

  using core::ModelControl::Index;  // the Authorization-only (HTTP) forms
  using core::ModelControl::Load;
  using core::ModelControl::Unload;
  absl::StatusOr<std::vector<core::ModelState>> Index(const core::ControlCaller& caller) override;
  void Load(const std::string& name, const core::ControlCaller& caller, bool with_parameters,
            core::ControlCallback done) override;
  void Unload(const std::string& name, const core::ControlCaller& caller,
              core::ControlCallback done) override;

 private:
  explicit ModelControlService(Options options);
  // Mode, then token or trusted loopback peer; counts a refusal (or a
  // loopback admission) under `action`.
  absl::Status Admit(const char* action, const core::ControlCaller& caller,
                     std::string_view name = "");
  void Count(const char* action, const char* result);
  bool Post(std::function<void()> work);  // false once stopping
  void Run();
  absl::Status DoLoad(const std::string& name);
  absl::Status DoUnload(const std::string& name);

  Options options_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> work_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // an operation is running
  std::thread thread_;
};

}  // namespace tide::server
