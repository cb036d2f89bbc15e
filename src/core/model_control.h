#pragma once

// The model control API (Triton's model_repository extension: repository
// index, load, unload) as the frontends see it. The frontends pass the
// caller's credentials through untouched; the implementation (server's
// ModelControlService) decides, counts every refusal and does the work.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/inference_service.h"

namespace tide::core {

using ControlCallback = std::function<void(absl::Status)>;

// Who sent a control request, as the frontend saw it.
struct ControlCaller {
  // The request's Authorization header (HTTP) or `authorization` metadata
  // (gRPC), "" when absent; expected to be "Bearer <token>".
  std::string_view authorization;
  // gRPC only: the TCP peer as grpc::ServerContext::peer() gives it (e.g.
  // "ipv4:127.0.0.1:41234"); "" for HTTP. With --model-control-trust-loopback
  // a tokenless gRPC request from exactly 127.0.0.1 or ::1 is admitted; HTTP
  // requests never are (Seldon's agent proxies every HTTP path from loopback).
  std::string_view grpc_peer;
};

// Thread-safe. Errors, the same over both protocols:
//   FailedPrecondition  model control is off (--model-control-mode none)
//   Unauthenticated     no bearer token (HTTP 401)
//   PermissionDenied    a wrong token (HTTP 403)
//   InvalidArgument     a name that is not a model folder name, or that
//                       escapes the repository (never touched on disk)
//   NotFound            no such model folder (load) or model (unload)
//   InvalidArgument     the model failed to load ("failed to load ...")
class ModelControl {
 public:
  virtual ~ModelControl() = default;

  // The repository index. With model control off it needs no token (as
  // before); with it on, the token.
  virtual absl::StatusOr<std::vector<ModelState>> Index(const ControlCaller& caller) = 0;

  // `done` is called exactly once: inline for a refusal, otherwise from the
  // control thread once the load (or reload) or unload has finished. Loads
  // and unloads run one at a time, in order. `with_parameters`: the request
  // carried load parameters (Triton's config override or files), which tide
  // does not support (InvalidArgument, never silently ignored).
  virtual void Load(const std::string& name, const ControlCaller& caller, bool with_parameters,
                    ControlCallback done) = 0;
  virtual void Unload(const std::string& name, const ControlCaller& caller,
                      ControlCallback done) = 0;

  // A caller known only by its Authorization (HTTP): never trusted by address.
  absl::StatusOr<std::vector<ModelState>> Index(std::string_view authorization) {
    return Index(ControlCaller{authorization, ""});
  }
  void Load(const std::string& name, std::string_view authorization, bool with_parameters,
            ControlCallback done) {
    Load(name, ControlCaller{authorization, ""}, with_parameters, std::move(done));
  }
  void Unload(const std::string& name, std::string_view authorization, ControlCallback done) {
    Unload(name, ControlCaller{authorization, ""}, std::move(done));
  }
};

}  // namespace tide::core
