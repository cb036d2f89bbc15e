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

  (void)AddLogFlags;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (run) exit_code = run();
  return exit_code;
}
