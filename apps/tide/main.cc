// tide: a model server that scales horizontally the way Kubernetes does.
//
// This file only turns command-line flags into each subcommand's Options and
// calls its Run(); the work lives in the modules under src/. It is the only
// translation unit that includes CLI11.

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "common/logging.h"
#include "hpa_command.h"
#include "server/server.h"
#include "spdlog/spdlog.h"

namespace {

constexpr char kVersion[] = "0.1.0";

// Flags shared by every subcommand that logs.
void AddLogFlags(CLI::App* cmd, tide::common::LogOptions* log) {
  cmd->add_option("--log-format", log->format, "Log format on stderr: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--log-level", log->level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tide: a KServe V2 model server that scales horizontally the way Kubernetes does,\n"
      "with the tools to run, measure and predict that scaling."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tide ") + kVersion);
  app.footer("Run 'tide SUBCOMMAND --help' for the flags of each subcommand.");

  tide::common::LogOptions log;
  int exit_code = 0;
  std::function<int()> run;

  // ---- subcommands: each block fills its Options and sets `run` ----

  CLI::App* version = app.add_subcommand("version", "Print tide's version");
  version->callback([&] {
    run = [] {
      std::printf("tide %s\n", kVersion);
      return 0;
    };
  });

  // ---- tide serve ----
  tide::server::ServeOptions serve;
  double drain_delay_s = 5, shutdown_timeout_s = 30, read_timeout_s = 30;
  CLI::App* serve_cmd = app.add_subcommand(
      "serve",
      "Serve the models of a Triton-style model repository over the KServe V2 protocol\n"
      "(HTTP/REST with Triton's binary tensor and statistics extensions, and gRPC) and\n"
      "export Prometheus metrics. SIGTERM/SIGINT drain it without losing an accepted request.");
  serve_cmd->add_option("--model-repository", serve.model_repository,
                        "Model repository: <dir>/<model>/config.pbtxt and numbered version folders")
      ->required()
      ->check(CLI::ExistingDirectory);
  serve_cmd->add_option("--host", serve.host, "Address to listen on")->capture_default_str();
  serve_cmd->add_option("--http-port", serve.http_port, "V2 HTTP/REST port (0 = any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve_cmd->add_option("--grpc-port", serve.grpc_port,
                        "V2 gRPC port (0 = any free port, -1 = no gRPC listener)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  serve_cmd->add_option("--metrics-port", serve.metrics_port,
                        "Prometheus metrics port, served at /metrics (0 = any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  serve_cmd->add_option("--http-threads", serve.http_threads, "HTTP I/O threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd->add_option("--max-queue-size", serve.max_queue_size,
                        "Requests a model may queue when its config sets no max_queue_size; "
                        "beyond it requests get 503 + Retry-After at once")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  serve_cmd->add_option("--max-body-bytes", serve.max_body_bytes, "Largest request body accepted (413 above)")
      ->capture_default_str();
  serve_cmd->add_option("--max-header-bytes", serve.max_header_bytes, "Largest request header block (431 above)")
      ->capture_default_str();
  serve_cmd->add_option("--max-connections", serve.max_connections,
                        "Open connections allowed on the inference port (503 above)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  serve_cmd->add_option("--read-timeout", read_timeout_s,
                        "Seconds a client has to send a whole request; idle keep-alive "
                        "connections close after it too")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  serve_cmd->add_option("--drain-delay", drain_delay_s,
                        "Seconds to keep accepting requests after SIGTERM while readiness is "
                        "false, so load balancers stop sending first")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  serve_cmd->add_option("--shutdown-timeout", shutdown_timeout_s,
                        "Seconds after SIGTERM by which accepted requests must be finished; "
                        "exit 1 if they are not")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  serve_cmd->add_flag("--strict-readiness,!--no-strict-readiness", serve.strict_readiness,
                      "Ready only when every model in the repository is ready")
      ->capture_default_str();
  serve_cmd->add_flag("--exit-on-error", serve.exit_on_error,
                      "Exit (status 1) if any model fails to load instead of serving the others");
  AddLogFlags(serve_cmd, &log);
  serve_cmd->callback([&] {
    serve.drain_delay = absl::Seconds(drain_delay_s);
    serve.shutdown_timeout = absl::Seconds(shutdown_timeout_s);
    serve.read_timeout = absl::Seconds(read_timeout_s);
    run = [&] {
      auto code = tide::server::RunServe(serve);
      if (!code.ok()) {
        spdlog::error("{}", std::string(code.status().message()));
        return 1;
      }
      return *code;
    };
  });

  // tide hpa decide | validate
  CLI::App* hpa = app.add_subcommand(
      "hpa", "Kubernetes HorizontalPodAutoscaler (autoscaling/v2) decisions and manifests");
  hpa->require_subcommand(1);
  tide::app::HpaDecideOptions hpa_decide;
  CLI::App* decide = hpa->add_subcommand(
      "decide",
      "Make the replica decision Kubernetes' HPA controller would make for each snapshot "
      "(hpa_spec.md section 13) and print a JSON array, one decision per snapshot. Exit 0 "
      "(an errored decision is still a decision), 2 if an input is not valid JSON or not the "
      "schema.");
  decide->add_option("FILE", hpa_decide.files,
                     "Snapshot file(s): one snapshot object or a JSON array of them; - reads stdin")
      ->required();
  decide->add_flag("--compact", hpa_decide.compact,
                   "Print the JSON on one line (default: indented)");
  decide->callback([&] {
    run = [&] { return tide::app::RunHpaDecide(hpa_decide, std::cin, std::cout, std::cerr); };
  });
  tide::app::HpaValidateOptions hpa_validate;
  CLI::App* validate = hpa->add_subcommand(
      "validate",
      "Check an HPA manifest as the API server would (kubectl apply): print the field errors "
      "and exit 1, or a one-line summary per HorizontalPodAutoscaler and exit 0. A "
      "multi-document YAML validates every HorizontalPodAutoscaler in it.");
  validate->add_option("FILE", hpa_validate.file, "Manifest (YAML or JSON); - reads stdin")
      ->required();
  validate->add_flag("--hpa-scale-to-zero", hpa_validate.hpa_scale_to_zero,
                     "Validate as with the HPAScaleToZero feature gate on (allows minReplicas: 0; "
                     "default: off)");
  validate->callback([&] {
    run = [&] { return tide::app::RunHpaValidate(hpa_validate, std::cin, std::cout, std::cerr); };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (absl::Status s = tide::common::InitLogging(log); !s.ok()) {
    std::fprintf(stderr, "tide: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (run) exit_code = run();
  return exit_code;
}
