#pragma once

// `tide serve`: the composition root. Builds the backends, loads the model
// repository, starts the HTTP (V2) and metrics listeners, then waits for
// SIGTERM/SIGINT and drains:
//   1. readiness turns false at once (load balancers stop sending);
//   2. new requests are still accepted for --drain-delay;
//   3. then refused with 503 + Retry-After;
//   4. every accepted request is finished;
//   5. exit 0 (1 if --shutdown-timeout passed with requests unfinished).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tide::server {

struct ServeOptions {
  std::string model_repository;
  std::string host = "0.0.0.0";
  int http_port = 8000;
  int grpc_port = 8001;  // -1: no gRPC listener
  int metrics_port = 8002;
  int http_threads = 2;
  int grpc_threads = 1;  // ModelInfer's completion-queue threads
  size_t max_body_bytes = 64 << 20;
  size_t max_header_bytes = 16 << 10;
  int max_connections = 1024;
  absl::Duration read_timeout = absl::Seconds(30);
  // Client connections (HTTP and gRPC) older than this are closed at their
  // next response, so that clients reconnect and spread over the replicas
  // (the HPA's new ones too). Zero: never.
  absl::Duration max_connection_age = absl::Seconds(60);
  size_t max_queue_size = 256;
  // How long a model's idle worker polls its queue before sleeping.
  absl::Duration worker_spin = absl::ZeroDuration();
  // Models without dynamic batching whose executions average no longer than
  // this run on the receiving thread when an instance is idle (0: never).
  absl::Duration inline_max_execute = absl::Microseconds(100);
  absl::Duration drain_delay = absl::Seconds(5);
  absl::Duration shutdown_timeout = absl::Seconds(30);
  bool strict_readiness = true;
  // Where backend plugins (libtide_backend_<name>.so) are looked for first;
  // then next to the executable (backends/) and in ../lib/tide/backends.
  std::string backend_directory;
  bool exit_on_error = false;
  // What NVML is loaded from for the GPU metrics (--nvml-library; "none": not
  // at all). Machines without NVIDIA's driver simply export no GPU metric.
  std::string nvml_library = "libnvidia-ml.so.1";
  // --model-control-mode explicit (Triton's name; default none): the model
  // control API loads and unloads models, with the admin token. At startup
  // only `load_models` are loaded ("*": all), as Triton's --load-model.
  bool model_control_explicit = false;
  std::vector<std::string> load_models;
  // The admin token: --admin-token-file wins over TIDE_ADMIN_TOKEN (read by
  // the command line, passed here as `admin_token_env`).
  std::string admin_token_file;
  std::string admin_token_env;
  // --model-control-trust-loopback (explicit mode only): gRPC control
  // requests from exactly 127.0.0.1 or ::1 need no token (Seldon Core 2's
  // agent sends none); the admin token becomes optional. HTTP never.
  bool model_control_trust_loopback = false;
};

// Runs the server until a signal has drained it. Returns the exit code.
// Errors before serving (bad flags, unreadable repository, a port in use, a
// model that failed with --exit-on-error) are returned as a Status.
absl::StatusOr<int> RunServe(const ServeOptions& options);

}  // namespace tide::server
