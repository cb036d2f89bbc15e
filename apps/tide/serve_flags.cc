// `tide serve`'s flags (split from main.cc, which dispatches): they fill a
// server::ServeOptions, and choosing the subcommand sets main's `run`.

#include "serve_flags.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace tide::apps {

void AddLogFlags(CLI::App* cmd, common::LogOptions* log) {
  cmd->add_option("--log-format", log->format, "Log format on stderr: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--log-level", log->level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

// Seconds within [lo, hi]. CLI::Range lets "nan" through: every comparison
// with NaN is false.
CLI::Validator Seconds(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& value) -> std::string {
        char* end = nullptr;
        double v = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi) {
          return absl::StrCat("'", value, "' is not a number of seconds from ", lo, " to ", hi);
        }
        return "";
      },
      absl::StrCat("SECONDS in [", lo, ", ", hi, "]"));
}

void AddServeCommand(CLI::App* app, ServeFlags* f, common::LogOptions* log,
                     std::function<int()>* run) {
  CLI::App* cmd = app->add_subcommand(
      "serve",
      "Serve the models of a Triton-style model repository over the KServe V2 protocol\n"
      "(HTTP/REST with Triton's binary tensor and statistics extensions, and gRPC) and\n"
      "export Prometheus metrics. SIGTERM/SIGINT drain it without losing an accepted request.");
  cmd->add_option("--model-repository", f->serve.model_repository,
                  "Model repository: <dir>/<model>/config.pbtxt and numbered version folders")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--host", f->serve.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--backend-directory", f->serve.backend_directory,
                  "Directory searched first for backend plugins (libtide_backend_<name>.so); "
                  "then <tide's directory>/backends and <tide's directory>/../lib/tide/backends");
  cmd->add_option("--http-port", f->serve.http_port, "V2 HTTP/REST port (0 = any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--grpc-port", f->serve.grpc_port,
                  "V2 gRPC port (0 = any free port, -1 = no gRPC listener)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  cmd->add_option("--metrics-port", f->serve.metrics_port,
                  "Prometheus metrics port, served at /metrics (0 = any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--http-threads", f->serve.http_threads, "HTTP I/O threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--grpc-threads", f->serve.grpc_threads,
                  "gRPC ModelInfer threads (each polls its own completion queue)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--max-queue-size", f->serve.max_queue_size,
                  "Requests a model may queue when its config sets no max_queue_size; "
                  "beyond it requests get 503 + Retry-After at once")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--worker-spin-us", f->worker_spin_us,
                  "Microseconds a model's idle worker keeps polling its queue before it "
                  "sleeps, for models whose config sets no TIDE_WORKER_SPIN_MICROSECONDS; it "
                  "spins only while recent idle gaps were that short. A request arriving "
                  "meanwhile starts at once on hot caches (lower latency for back-to-back "
                  "clients); the time spun counts as CPU use, which CPU-based autoscaling "
                  "sees (tide_worker_spin_seconds_total). 0 = sleep at once")
      ->check(CLI::Range(int64_t{0}, int64_t{100000}))
      ->capture_default_str();
  cmd->add_option("--inline-execute-max-us", f->inline_execute_max_us,
                  "For models without dynamic batching whose config sets no "
                  "TIDE_INLINE_EXECUTE_MAX_MICROSECONDS: while a model's executions average "
                  "no longer than this, a request that finds an instance idle and nothing "
                  "queued runs on the thread that received it, with no hand-off to the "
                  "model's worker (lower latency and CPU per request). 0 = always hand off")
      ->check(CLI::Range(int64_t{0}, int64_t{100000}))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", f->serve.max_body_bytes,
                  "Largest request body accepted (413 above)")
      ->capture_default_str();
  cmd->add_option("--max-header-bytes", f->serve.max_header_bytes,
                  "Largest request header block (431 above)")
      ->capture_default_str();
  cmd->add_option("--max-connections", f->serve.max_connections,
                  "Open connections allowed on the inference port (503 above); lowered, with a\n"
                  "warning, where the descriptor limit (ulimit -n) cannot hold them")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--read-timeout", f->read_timeout_s,
                  "Seconds a client has to send a whole request (and to read on from a response "
                  "being written); idle keep-alive connections close after it too")
      ->check(Seconds(0.01, 3600.0))
      ->capture_default_str();
  cmd->add_option("--max-connection-age", f->max_connection_age_s,
                  "Seconds after which a client connection is closed gracefully, each within "
                  "+-10 %: HTTP says Connection: close on its next response (an idle one is "
                  "left to --read-timeout); gRPC sends GOAWAY, idle or not, and calls under "
                  "way finish. Keep-alive clients reconnect, and a Kubernetes Service spreads "
                  "them over every replica, those the HPA added since too. 0 = never")
      ->check(Seconds(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--drain-delay", f->drain_delay_s,
                  "Seconds to keep accepting requests after SIGTERM while readiness is "
                  "false, so load balancers stop sending first")
      ->check(Seconds(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", f->shutdown_timeout_s,
                  "Seconds after SIGTERM by which accepted requests must be finished; "
                  "exit 1 if they are not")
      ->check(Seconds(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_flag("--strict-readiness,!--no-strict-readiness", f->serve.strict_readiness,
                "Ready only when every model in the repository is ready")
      ->capture_default_str();
  cmd->add_flag("--exit-on-error", f->serve.exit_on_error,
                "Exit (status 1) if any model fails to load instead of serving the others");
  cmd->add_option("--nvml-library", f->serve.nvml_library,
                  "NVIDIA's NVML library, loaded at run time for the tide_gpu_* metrics "
                  "(none = do not load it; without a GPU they are simply absent)")
      ->capture_default_str();
  cmd->add_option("--model-control-mode", f->model_control_mode,
                  "Model control, as Triton names it: none (models load at startup; the load "
                  "and unload API is refused) or explicit (the API loads, reloads and unloads "
                  "models, with the admin token; at startup only --load-model models load)")
      ->check(CLI::IsMember({"none", "explicit"}))
      ->capture_default_str();
  cmd->add_option("--load-model", f->serve.load_models,
                  "With --model-control-mode explicit: a model to load at startup "
                  "(repeatable; * = every model)");
  cmd->add_option("--admin-token-file", f->serve.admin_token_file,
                  "File whose first line is the admin token that the model control API "
                  "requires (Authorization: Bearer <token>); it wins over the environment "
                  "variable TIDE_ADMIN_TOKEN");
  cmd->add_flag("--model-control-trust-loopback", f->serve.model_control_trust_loopback,
                "With --model-control-mode explicit: gRPC load/unload/index requests "
                "without a token are accepted from 127.0.0.1 and ::1 only (Seldon Core "
                "2's agent in the same pod); HTTP and other addresses still need the "
                "token, which becomes optional. Not with a proxy that forwards outside "
                "gRPC from 127.0.0.1 (docs/model-control.md)");
  AddLogFlags(cmd, log);
  cmd->callback([f, run] {
    f->serve.drain_delay = absl::Seconds(f->drain_delay_s);
    f->serve.shutdown_timeout = absl::Seconds(f->shutdown_timeout_s);
    f->serve.read_timeout = absl::Seconds(f->read_timeout_s);
    f->serve.max_connection_age = absl::Seconds(f->max_connection_age_s);
    f->serve.worker_spin = absl::Microseconds(f->worker_spin_us);
    f->serve.inline_max_execute = absl::Microseconds(f->inline_execute_max_us);
    f->serve.model_control_explicit = f->model_control_mode == "explicit";
    if (const char* t = std::getenv("TIDE_ADMIN_TOKEN")) f->serve.admin_token_env = t;
    *run = [f] {
      auto code = tide::server::RunServe(f->serve);
      if (!code.ok()) {
        spdlog::error("{}", std::string(code.status().message()));
        return 1;
      }
      return *code;
    };
  });
}

}  // namespace tide::apps
