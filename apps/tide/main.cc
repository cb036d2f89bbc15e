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
#include "load_command.h"

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

  // ---- tide load ----
  tide::apps::LoadCommandOptions load_opts;
  {
    auto& o = load_opts.load;
    CLI::App* load = app.add_subcommand(
        "load",
        "Load generator for KServe V2 model servers: closed loop (--concurrency), open loop\n"
        "(--rate, latency charged from each request's intended send time: no coordinated\n"
        "omission) or trace replay (--trace). Prints a table; --json/--csv for machines.");
    load->add_option("--url", o.url, "Server address; only this address (and --metrics-url) is contacted")
        ->capture_default_str();
    load->add_option("--model", o.model, "Model to load (required unless --http-get)");
    load->add_option("--model-version", o.model_version, "Model version (default: the server's choice)");
    load->add_option("--http-get", o.http_get,
                     "Generic mode: GET this path instead of V2 inference (2xx = success); "
                     "same engine, e.g. to compare with wrk");
    load->add_option("--batch-size", o.batch_size, "Batch dim of every request (models whose shapes start with -1)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    load->add_option("--shape", load_opts.shapes,
                     "NAME:d1,d2 per-item dims of an input with variable (-1) dims; repeatable");
    load->add_option("--input-data", o.input_data,
                     "zero, random (seeded) or a JSON file as perf_analyzer's --input-data "
                     "({\"data\":[{\"INPUT0\":[...]}, ...]}, entries sent in turn)")
        ->capture_default_str();
    load->add_flag("--binary", o.binary,
                   "Binary tensors (Triton's extension: Inference-Header-Content-Length, "
                   "binary_data_size, binary_data_output)");
    load->add_option("--seed", o.seed, "Seed for random data, Poisson arrivals and trace spreading")
        ->capture_default_str();
    load->add_option("--concurrency", o.concurrency,
                     "Closed loop: N connections each sending back to back, or a sweep A:B[:xF|+S] "
                     "(e.g. 1:64:x2) that stops when throughput stops growing (default: 1)");
    load->add_option("--rate", o.rate,
                     "Open loop: requests/s, or a sweep A:B[:xF|+S] that stops when the server "
                     "falls behind");
    load->add_option("--arrivals", o.arrivals, "Open-loop arrival process: poisson or constant")
        ->check(CLI::IsMember({"poisson", "constant"}))
        ->capture_default_str();
    load->add_option("--trace", o.trace,
                     "Replay a trace: CSV with timestamp_s (one request per row) or start_s,count "
                     "(intervals, spread as Poisson), Mooncake JSONL (timestamp in ms), or Azure raw "
                     "CSV (TIMESTAMP)");
    load->add_option("--trace-format", o.trace_format, "auto, requests, intervals, jsonl or azure")
        ->check(CLI::IsMember({"auto", "requests", "intervals", "jsonl", "azure"}))
        ->capture_default_str();
    load->add_option("--time-scale", o.time_scale,
                     "Trace: multiply trace time by this (0.1 replays an hour in 6 minutes)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    load->add_option("--rate-scale", o.rate_scale,
                     "Trace: multiply the number of requests by this (seeded thinning/copies)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    load->add_option("--start", o.trace_start_s, "Trace: window start, seconds of trace time")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    load->add_option("--duration", o.duration_s,
                     "Seconds per level (default 10; with --requests only: until done); with "
                     "--trace: the window's length in trace time (default: to the end)")
        ->check(CLI::PositiveNumber);
    load->add_option("--warmup", o.warmup_s, "Seconds at the start of each level excluded from results")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    load->add_option("--requests", o.requests, "Requests per level, warm-up included (0 = no limit)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    load->add_option("--timeout", o.timeout_s,
                     "Seconds a request may take (from its intended send time) before it counts "
                     "as a timeout")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    load->add_option("--threads", o.threads, "Client worker threads, each with its own event loop")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    load->add_option("--max-connections", o.max_connections,
                     "Open loop: most keep-alive connections in all; a due request waits for one "
                     "(and that wait counts in its latency)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    load->add_option("--sweep-min-gain", o.sweep.min_gain,
                     "Concurrency sweep: stop when a level raises the best throughput by less than "
                     "this fraction")
        ->capture_default_str();
    load->add_option("--sweep-patience", o.sweep.patience,
                     "Concurrency sweep: ... for this many levels in a row")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    load->add_option("--metrics-url", o.metrics_url,
                     "Server /metrics for the server-side breakdown (default: --url's host, port "
                     "8002; 'none' to skip)");
    load->add_option("--json", load_opts.json_path,
                     "Write everything (config, per-level results, per-second timeline) as JSON");
    load->add_option("--csv", load_opts.csv_path, "Write one CSV row per level");
    load->add_option("--timeline-csv", load_opts.timeline_csv_path,
                     "Write the per-second timeline (sent, completed, errors, p50, p99, in-flight) as CSV");
    load->footer(
        "A live progress line is shown on stderr when it is a terminal; Ctrl-C stops cleanly and\n"
        "prints the results so far. Percentiles: log-linear histogram, <= 0.05 % relative error.");
    load->callback([&] { run = [&] { return tide::apps::RunLoadCommand(load_opts); }; });
  }

  (void)AddLogFlags;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (run) exit_code = run();
  return exit_code;
}
