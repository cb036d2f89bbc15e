#pragma once

// Command-line flags of `tide serve` (serve_flags.cc) and those every
// subcommand that logs shares. main.cc and serve_flags.cc are the two
// translation units that include CLI11 (slow to compile).

#include <cstdint>
#include <functional>
#include <string>

#include "common/logging.h"
#include "server/server.h"

namespace CLI {
class App;
}

namespace tide::apps {

// What `tide serve`'s flags fill: the options, and the values given in other
// units (seconds, microseconds, a mode name) until the subcommand's callback
// converts them.
struct ServeFlags {
  server::ServeOptions serve;
  double drain_delay_s = 5;
  double shutdown_timeout_s = 30;
  double read_timeout_s = 30;
  double max_connection_age_s = 60;
  int64_t worker_spin_us = 0;
  int64_t inline_execute_max_us = 100;
  std::string model_control_mode = "none";
};

// --log-format and --log-level.
void AddLogFlags(CLI::App* cmd, common::LogOptions* log);

// Adds `serve` to `app`; when it is the subcommand given, its callback fills
// `flags->serve` and sets `*run` to run the server. `flags`, `log` and `run`
// must outlive the parse and the run.
void AddServeCommand(CLI::App* app, ServeFlags* flags, common::LogOptions* log,
                     std::function<int()>* run);

}  // namespace tide::apps
