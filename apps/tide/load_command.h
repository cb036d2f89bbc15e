#pragma once

// `tide load`: flags (filled in main.cc) → loadgen::LoadRunner → table on
// stdout, optional JSON/CSV files, a live progress line on stderr when it is
// a terminal, and a clean stop with the results so far on Ctrl-C.

#include <string>
#include <vector>

#include "loadgen/load_runner.h"

namespace tide::apps {

struct LoadCommandOptions {
  loadgen::LoadOptions load;
  std::vector<std::string> shapes;  // raw --shape NAME:d1,d2 values
  std::string json_path;
  std::string csv_path;
  std::string timeline_csv_path;
};

// Runs the command; returns the process exit code (0 when the load ran, 1 when
// it could not start: bad flags, unreachable server, unknown model).
int RunLoadCommand(const LoadCommandOptions& options);

}  // namespace tide::apps
