// tide: a model server that scales horizontally the way Kubernetes does.
//
// This file only turns command-line flags into each subcommand's Options and
// calls its Run(); the work lives in the modules under src/. It is the only
// translation unit that includes CLI11.

#include <cstdio>
#include <functional>
#include <string>

#include "CLI/CLI.hpp"
#include "common/logging.h"

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

  (void)AddLogFlags;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (run) exit_code = run();
  return exit_code;
}
