#pragma once

// `tide load` end to end: turns LoadOptions into requests (V2 from the
// model's metadata, or a plain GET), runs one level or a sweep of levels with
// the LoadEngine, and collects the client's and (from /metrics) the server's
// view of each level into a LoadReport. Output formatting is in report.h.
//
// Threads: Run() blocks; RequestStop() and Live() may be called from any
// other thread (a signal watcher, a progress printer).

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "loadgen/engine.h"
#include "loadgen/server_metrics.h"
#include "loadgen/sweep.h"
#include "loadgen/v2_workload.h"

namespace tide::loadgen {

struct LoadOptions {
  // With protocol "grpc": the gRPC address (host:port or grpc://host:port);
  // this default then means 127.0.0.1:8001.
  std::string url = "http://127.0.0.1:8000";
  // "http" (V2 REST) or "grpc" (V2 gRPC ModelInfer; with grpc_contents
  // "typed" (InferTensorContents) or "raw" (raw_input_contents)).
  std::string protocol = "http";
  std::string grpc_contents = "typed";
  std::string model;          // required unless http_get is set
  std::string model_version;  // "" = the server's choice
  std::string http_get;       // generic mode: GET this path, 2xx = success; no V2

  // What each request carries (V2).
  int batch_size = 1;
  std::map<std::string, std::vector<int64_t>> shapes;  // --shape NAME:d1,d2
  std::string input_data = "zero";                     // zero | random | a perf_analyzer JSON file
  bool binary = false;
  uint64_t seed = 1;

  // The load: at most one of these (none: concurrency 1).
  std::string concurrency;           // "N" or a sweep "A:B[:xF|+S]"
  std::string rate;                  // requests/s, or a sweep
  std::string trace;                 // trace file to replay
  std::string arrivals = "poisson";  // open loop: poisson | constant
  std::string trace_format = "auto";
  double time_scale = 1.0;  // trace: replay offset = (t - start) * time_scale
  double rate_scale = 1.0;  // trace: requests multiplied by this
  double trace_start_s = 0;

  // Bounds. duration_s: per level (default 10 s); for a trace, the window's
  // length in trace time (default: to the trace's end).
  std::optional<double> duration_s;
  double warmup_s = 0;
  int64_t requests = 0;  // per level; 0 = no limit
  double timeout_s = 30;

  int threads = 1;
  int max_connections = 1024;  // open loop and trace replay
  SweepRule sweep;
  std::string metrics_url;  // "" = the --url host on port 8002; "none" = off
};

struct LevelReport {
  std::string mode;     // "concurrency", "rate" or "trace"
  double level = 0;     // concurrency, or offered rate (trace: mean offered rate)
  EngineResult result;  // without per-request records
  std::optional<ServerBreakdown> server;
  std::string server_note;  // why there is no server breakdown
  std::vector<std::string> warnings;
};

struct LoadReport {
  LoadOptions options;
  std::string target;      // what was sent, e.g. "model simple: INPUT0 INT32 [1,16], ..."
  std::string sweep_stop;  // why a sweep ended before its last level ("" if it did not)
  bool stopped = false;    // Ctrl-C
  int client_cpus = 0;     // hardware threads on the client machine
  std::vector<LevelReport> levels;
};

struct LiveProgress {
  std::string level;  // e.g. "concurrency 8"
  LiveStats stats;
};

// What the reader of a level's results must be warned about: stopped early,
// the client behind its own schedule (and whether its worker was busy or the
// machine starved it), requests that waited for one of `max_connections`
// connections, a client worker near 100 % CPU. Pure.
std::vector<std::string> LevelWarnings(const EngineResult& result, int max_connections);

class LoadRunner {
 public:
  // Validates the options, reads the trace and input-data files.
  static absl::StatusOr<std::unique_ptr<LoadRunner>> Create(LoadOptions options);

  // Fetches the model's metadata, runs every level, scrapes /metrics around
  // each. Errors only when nothing could be run (bad metadata, unreachable
  // server before the first request); failures during load are results.
  absl::StatusOr<LoadReport> Run();

  void RequestStop();
  LiveProgress Live() const;

 private:
  explicit LoadRunner(LoadOptions options) : options_(std::move(options)) {}
  absl::Status PrepareRequests(LoadReport* report);
  std::optional<ServerCounters> Scrape(std::string* note) const;

  LoadOptions options_;
  Url url_;
  std::optional<Url> metrics_url_;
  std::vector<double> levels_;
  std::string mode_;
  std::shared_ptr<std::vector<absl::Duration>> trace_offsets_;
  std::string input_data_text_;

  std::vector<std::string> requests_;
  std::unique_ptr<ResponseChecker> checker_;

  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  LoadEngine* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string current_label_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tide::loadgen
