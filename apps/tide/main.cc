// tide: a model server that scales horizontally the way Kubernetes does.
//
// This file only turns command-line flags into each subcommand's Options and
// calls its Run(); the work lives in the modules under src/. `tide serve`'s
// flags are in serve_flags.cc, the one other translation unit that includes
// CLI11.

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "common/fd_limit.h"
#include "common/logging.h"
#include "hpa_command.h"
#include "load_command.h"
#include "serve_flags.h"
#include "sim_command.h"
#include "spdlog/spdlog.h"
#include "tune_command.h"
#include "up_command.h"

namespace {

constexpr char kVersion[] = "0.1.0";

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

  // ---- tide serve (serve_flags.cc) ----
  tide::apps::ServeFlags serve;
  tide::apps::AddServeCommand(&app, &serve, &log, &run);

  // tide hpa decide | validate
  CLI::App* hpa = app.add_subcommand(
      "hpa", "Kubernetes HorizontalPodAutoscaler (autoscaling/v2) decisions and manifests");
  hpa->require_subcommand(1);
  tide::app::HpaDecideOptions hpa_decide;
  CLI::App* decide = hpa->add_subcommand(
      "decide",
      "Make the replica decision Kubernetes' HPA controller would make for each snapshot "
      "(docs/hpa-semantics.md section 13) and print a JSON array, one decision per "
      "snapshot. Exit 0 (an errored decision is still a decision), 2 if an input is not "
      "valid JSON or not the schema.");
  decide
      ->add_option("FILE", hpa_decide.files,
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

  // ---- tide load ----
  tide::apps::LoadCommandOptions load_opts;
  {
    auto& o = load_opts.load;
    CLI::App* load = app.add_subcommand(
        "load",
        "Load generator for KServe V2 model servers: closed loop (--concurrency), open loop\n"
        "(--rate, latency charged from each request's intended send time: no coordinated\n"
        "omission) or trace replay (--trace). Prints a table; --json/--csv for machines.");
    load->add_option("--url", o.url,
                     "Server address; only this address (and --metrics-url) is contacted")
        ->capture_default_str();
    load->add_option("--model", o.model, "Model to load (required unless --http-get)");
    load->add_option("--protocol", o.protocol,
                     "http (V2 REST) or grpc (V2 gRPC ModelInfer; --url is then the gRPC "
                     "address, default 127.0.0.1:8001)")
        ->check(CLI::IsMember({"http", "grpc"}))
        ->capture_default_str();
    load->add_option("--grpc-contents", o.grpc_contents,
                     "gRPC tensors: typed (InferTensorContents) or raw (raw_input_contents)")
        ->check(CLI::IsMember({"typed", "raw"}))
        ->capture_default_str();
    load->add_option("--model-version", o.model_version,
                     "Model version (default: the server's choice)");
    load->add_option("--http-get", o.http_get,
                     "Generic mode: GET this path instead of V2 inference (2xx = success); "
                     "same engine, e.g. to compare with wrk");
    load->add_option("--batch-size", o.batch_size,
                     "Batch dim of every request (models whose shapes start with -1)")
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
    load->add_option(
        "--trace", o.trace,
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
    load->add_option("--warmup", o.warmup_s,
                     "Seconds at the start of each level excluded from results")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    load->add_option("--requests", o.requests,
                     "Requests per level, warm-up included (0 = no limit)")
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
    load->add_option(
        "--timeline-csv", load_opts.timeline_csv_path,
        "Write the per-second timeline (sent, completed, errors, p50, p99, in-flight) as CSV");
    load->footer(
        "A live progress line is shown on stderr when it is a terminal; Ctrl-C stops cleanly and\n"
        "prints the results so far. Percentiles: log-linear histogram, <= 0.05 % relative error.");
    load->callback([&] { run = [&] { return tide::apps::RunLoadCommand(load_opts); }; });
  }

  // ---- tide sim ----
  tide::apps::SimCommandOptions sim_opts;
  {
    auto& o = sim_opts;
    CLI::App* sim = app.add_subcommand(
        "sim",
        "Replay a request trace (or synthetic arrivals) against simulated replicas of a model\n"
        "and compare autoscaling policies on the identical arrivals: HPA YAMLs run by\n"
        "Kubernetes' own decision code, fixed fleets and Knative's KPA. Prints SLO attainment,\n"
        "latency and cost side by side; writes JSON, a per-second CSV and an SVG.\n"
        "Model and defaults with their sources: docs/simulator.md.");
    // Traffic.
    sim->add_option("--trace", o.trace,
                    "Arrival trace: requests CSV (timestamp_s), intervals CSV (start_s,count), "
                    "Mooncake JSONL or Azure CSV, as tide load reads; must be sorted")
        ->group("Traffic");
    sim->add_option("--trace-format", o.trace_format, "auto, requests, intervals, jsonl or azure")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--start", o.start_s, "Trace: window start, seconds of trace time")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--duration", o.duration_s,
                    "Seconds simulated (synthetic arrivals: required); with --trace, the "
                    "window's length in trace time")
        ->group("Traffic");
    sim->add_option("--time-scale", o.time_scale,
                    "Trace: replay time = trace time x this (0.1 = ten times faster)")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--rate-scale", o.rate_scale,
                    "Trace: requests x this (2 = twice the traffic, same shape)")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--arrivals", o.arrivals,
                    "Synthetic arrivals: poisson or constant at --rate; step (--rate, then "
                    "--peak-rate from --shape-at), spike (--peak-rate during --shape-length "
                    "from --shape-at), ramp (--rate to --peak-rate over --shape-length from "
                    "--shape-at), diurnal (mean --rate, maximum --peak-rate, one cycle per "
                    "--period), mmpp (Poisson switching between --rate and --peak-rate, mean "
                    "stays --mmpp-low / --mmpp-high); all shapes are Poisson")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--rate", o.rate, "Synthetic arrivals: requests per second")->group("Traffic");
    sim->add_option("--peak-rate", o.peak_rate, "Shapes: the other rate (default 2 x --rate)")
        ->group("Traffic");
    sim->add_option("--shape-at", o.shape_at_s, "step, spike, ramp: when the change starts (s)")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--shape-length", o.shape_length_s, "spike, ramp: how long (s)")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--period", o.period_s, "diurnal: one cycle (s)")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--mmpp-low", o.mmpp_low_s, "mmpp: mean stay at --rate (s)")
        ->capture_default_str()
        ->group("Traffic");
    sim->add_option("--mmpp-high", o.mmpp_high_s, "mmpp: mean stay at --peak-rate (s)")
        ->capture_default_str()
        ->group("Traffic");
    // Replica.
    sim->add_option("--model-repository", o.model_repository,
                    "Model repository; with --model, the replica is that model's config.pbtxt: "
                    "max_batch_size, instance_group count, dynamic_batching (the server's batch "
                    "policy), max_queue_size, and the simulated backend's compute_ms, "
                    "per_item_ms, distribution, jitter and mode")
        ->group("Replica");
    sim->add_option("--model", o.model, "Model name in --model-repository")->group("Replica");
    sim->add_option("--profile", o.profile,
                    "A measured replica: the JSON of a tide load run/sweep against one replica "
                    "(each level's server mean_batch_size -> mean_compute_ms) or "
                    "{\"batch_latency_ms\": {\"1\": 50, \"8\": 330}}; interpolated, it "
                    "replaces the service time's mean (any backend, with --model)")
        ->group("Replica");
    sim->add_option("--compute-ms", o.compute_ms, "Without a model: ms per batch")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--per-item-ms", o.per_item_ms, "Without a model: ms per row of a batch")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--distribution", o.distribution,
                    "Without a model: service time fixed, exponential or lognormal")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--jitter", o.jitter, "Without a model: lognormal sigma")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--instances", o.instances, "Without a model: model instances per replica")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--max-batch-size", o.max_batch_size,
                    "Without a model: largest batch (0 = no batching; > 0 = dynamic batching)")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--max-queue-delay-us", o.max_queue_delay_us,
                    "Without a model: dynamic batching's max_queue_delay_microseconds")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--max-queue-size", o.max_queue_size,
                    "Requests a replica queues before refusing (tide serve's --max-queue-size; "
                    "a model's own max_queue_size wins)")
        ->capture_default_str()
        ->group("Replica");
    sim->add_flag("--sleep-mode", o.sleep_mode,
                  "Without a model: the model sleeps (I/O or GPU bound) and uses no CPU")
        ->group("Replica");
    sim->add_option("--cpu-request", o.cpu_request,
                    "Cores requested per replica: CPU utilization = busy cores / this "
                    "(deploy/k8s/base: 1)")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--startup", o.startup,
                    "Pod start-up (scheduling + image pull + model load), seconds: S, fixed:S, "
                    "uniform:LOW:HIGH, exponential:MEAN or lognormal:MEAN:SIGMA (default: the "
                    "15-45 s deploy/'s HPA notes give)")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--readiness-delay", o.readiness_delay_s,
                    "Seconds from start-up to Ready (readinessProbe periodSeconds 2 in deploy/)")
        ->capture_default_str()
        ->group("Replica");
    sim->add_option("--termination-grace-period", o.termination_grace_s,
                    "Seconds a deleted replica may drain its queue (Kubernetes' default 30)")
        ->capture_default_str()
        ->group("Replica");
    // Cluster and metrics.
    sim->add_option("--balance", o.balance,
                    "The Service: random (kube-proxy), round-robin, or least-outstanding (two "
                    "random choices, like tide up's router)")
        ->capture_default_str()
        ->group("Cluster and metrics");
    sim->add_option("--metric-resolution", o.metrics_resolution_s,
                    "metrics-server's scrape period and CPU window, seconds (its manifests: 15)")
        ->capture_default_str()
        ->group("Cluster and metrics");
    sim->add_option("--scrape-interval", o.scrape_interval_s,
                    "Prometheus scrape interval, seconds (deploy/'s ServiceMonitor: 15)")
        ->capture_default_str()
        ->group("Cluster and metrics");
    sim->add_option("--rate-window", o.rate_window_s,
                    "rate() window of the p99 and request-rate queries, seconds (deploy/'s "
                    "adapter rule: 1m)")
        ->capture_default_str()
        ->group("Cluster and metrics");
    sim->add_option("--adapter-lag", o.adapter_lag_s,
                    "Extra staleness of custom/external metrics, seconds (the adapter queries "
                    "Prometheus live: 0)")
        ->capture_default_str()
        ->group("Cluster and metrics");
    // Policies.
    sim->add_option("--hpa", o.hpa_files,
                    "autoscaling/v2 HorizontalPodAutoscaler YAML, as for kubectl apply "
                    "(repeatable; every HPA in the file is a policy)")
        ->group("Policies");
    sim->add_option("--fixed", o.fixed, "N replicas, ready from time 0 (repeatable)")
        ->group("Policies");
    sim->add_flag("--knative", o.knative, "Knative's KPA (concurrency; defaults of Knative)")
        ->group("Policies");
    sim->add_option("--knative-target", o.knative_target,
                    "KPA: container-concurrency-target-default")
        ->capture_default_str()
        ->group("Policies");
    sim->add_option("--knative-utilization", o.knative_utilization,
                    "KPA: container-concurrency-target-percentage")
        ->capture_default_str()
        ->group("Policies");
    sim->add_option("--knative-min-scale", o.knative_min_scale, "KPA: min-scale")
        ->capture_default_str()
        ->group("Policies");
    sim->add_option("--knative-max-scale", o.knative_max_scale, "KPA: max-scale (0 = none)")
        ->capture_default_str()
        ->group("Policies");
    sim->add_option("--sync-period", o.sync_period_s,
                    "HPA: --horizontal-pod-autoscaler-sync-period, seconds")
        ->capture_default_str()
        ->group("Policies");
    sim->add_option("--tolerance", o.tolerance, "HPA: --horizontal-pod-autoscaler-tolerance")
        ->capture_default_str()
        ->group("Policies");
    sim->add_option("--initial-replicas", o.initial_replicas,
                    "HPA/KPA: ready replicas at time 0 (0 = minReplicas / initial-scale 1)")
        ->capture_default_str()
        ->group("Policies");
    // Output.
    sim->add_option("--slo-latency", o.slo_latency_s,
                    "SLO: a request meets it when answered within this many seconds")
        ->capture_default_str()
        ->group("Output");
    sim->add_option("--json", o.json_path, "Write the results as JSON (docs/simulator.md)")
        ->group("Output");
    sim->add_option("--timeline-csv", o.timeline_csv_path,
                    "Write the per-second timeline: arrivals; per policy desired/ready/"
                    "replicas, queue, p99, rejected and each metric as the autoscaler saw it")
        ->group("Output");
    sim->add_option("--svg", o.svg_path,
                    "Write an SVG: request rate, replicas per policy, p99 per policy vs the SLO")
        ->group("Output");
    sim->add_option("--report", o.report_dir,
                    "Write report.html (open it in a browser: the summary and each policy's "
                    "rate, replicas, p99 and queue over time), results.json, timeline.csv and "
                    "report.svg into this directory")
        ->group("Output");
    sim->add_option("--seed", o.seed,
                    "Seed: arrivals, service times, balancing, start-up (same seed, same output)")
        ->capture_default_str()
        ->group("Output");
    sim->add_flag("!--no-progress", o.progress, "No progress bar (shown on a terminal otherwise)")
        ->group("Output");
    sim->callback(
        [&] { run = [&] { return tide::apps::RunSimCommand(sim_opts, std::cout, std::cerr); }; });
  }

  // ---- tide tune ----
  tide::apps::TuneCommandOptions tune_opts;
  {
    auto& o = tune_opts;
    auto& s = tune_opts.sim;
    CLI::App* tune = app.add_subcommand(
        "tune",
        "Recommend the HPA for a trace and an SLO: search metric (cpu, queue depth, p99), "
        "target, minReplicas and scale-up/down behavior with tide sim's engine, on the "
        "identical arrivals; write the cheapest autoscaling/v2 YAML that meets the SLO, with "
        "the Pareto front, reference rows and held-out figures. See docs/tune.md.");
    tune->add_option("--trace", s.trace, "Request trace (as tide sim --trace)")->group("Traffic");
    tune->add_option("--trace-format", s.trace_format, "auto, requests, intervals, jsonl or azure")
        ->capture_default_str()
        ->group("Traffic");
    tune->add_option("--start", s.start_s, "Trace: window start (s)")->group("Traffic");
    tune->add_option("--duration", s.duration_s, "Seconds of traffic (synthetic: required)")
        ->group("Traffic");
    tune->add_option("--time-scale", s.time_scale, "Stretch trace time")->group("Traffic");
    tune->add_option("--rate-scale", s.rate_scale, "Multiply the trace's rate")->group("Traffic");
    tune->add_option("--arrivals", s.arrivals, "Synthetic: poisson, constant, step, spike, ...")
        ->capture_default_str()
        ->group("Traffic");
    tune->add_option("--rate", s.rate, "Synthetic arrivals: requests per second")->group("Traffic");
    tune->add_option("--model-repository", s.model_repository, "Model repository (as tide sim)")
        ->group("Replica");
    tune->add_option("--model", s.model, "Model name in --model-repository")->group("Replica");
    tune->add_option("--profile", s.profile, "Measured batch-size -> latency (as tide sim)")
        ->group("Replica");
    tune->add_option("--compute-ms", s.compute_ms, "Without a model: ms per batch")
        ->capture_default_str()
        ->group("Replica");
    tune->add_option("--per-item-ms", s.per_item_ms, "Without a model: ms per row")
        ->group("Replica");
    tune->add_option("--distribution", s.distribution, "fixed, exponential or lognormal")
        ->capture_default_str()
        ->group("Replica");
    tune->add_option("--instances", s.instances, "Without a model: instances per replica")
        ->group("Replica");
    tune->add_option("--max-batch-size", s.max_batch_size, "Without a model: max batch")
        ->group("Replica");
    tune->add_option("--max-queue-size", s.max_queue_size, "Without a model: queue bound")
        ->group("Replica");
    tune->add_option("--cpu-request", s.cpu_request, "resources.requests.cpu (cores)")
        ->capture_default_str()
        ->group("Replica");
    tune->add_flag("--sleep-mode", s.sleep_mode, "Without a model: requests use no CPU")
        ->group("Replica");
    tune->add_option("--startup", s.startup, "Start-up time distribution (as tide sim)")
        ->capture_default_str()
        ->group("Cluster");
    tune->add_option("--readiness-delay", s.readiness_delay_s, "Running to Ready (s)")
        ->capture_default_str()
        ->group("Cluster");
    tune->add_option("--balance", s.balance, "random, round-robin or least-outstanding")
        ->capture_default_str()
        ->group("Cluster");
    tune->add_option("--sync-period", s.sync_period_s, "HPA sync period (s)")
        ->capture_default_str()
        ->group("Cluster");
    tune->add_option("--slo-latency", s.slo_latency_s, "SLO: seconds a request may take")
        ->capture_default_str()
        ->group("SLO");
    tune->add_option("--slo-attainment", o.slo_attainment,
                     "SLO: the share of requests within --slo-latency")
        ->capture_default_str()
        ->group("SLO");
    tune->add_option("--max-replicas", o.max_replicas, "maxReplicas: the cap (never exceeded)")
        ->capture_default_str()
        ->group("SLO");
    tune->add_option("--metrics", o.metrics, "Metrics searched: cpu, queue-depth, p99")
        ->capture_default_str()
        ->group("Search");
    tune->add_option("--cpu-targets", o.cpu_targets, "CPU averageUtilization values (%)")
        ->group("Search");
    tune->add_option("--queue-targets", o.queue_targets, "Queue depth AverageValue values")
        ->group("Search");
    tune->add_option("--p99-fractions", o.p99_fractions, "p99 Value targets, x --slo-latency")
        ->group("Search");
    tune->add_option("--up-windows", o.up_windows, "scaleUp stabilization windows (s)")
        ->group("Search");
    tune->add_option("--up-percents", o.up_percents, "scaleUp Percent policy values")
        ->group("Search");
    tune->add_option("--down-windows", o.down_windows, "scaleDown stabilization windows (s)")
        ->group("Search");
    tune->add_option("--down-percents", o.down_percents, "scaleDown Percent policy values")
        ->group("Search");
    tune->add_option("--keep", o.keep, "Grid survivors refined by the coordinate search")
        ->capture_default_str()
        ->group("Search");
    tune->add_option("--jobs", o.jobs, "Simulations at once (threads)")
        ->capture_default_str()
        ->group("Search");
    tune->add_option("--robust", o.robust,
                     "K re-seeded copies at x0.8..x1.2 the rate a candidate must also meet "
                     "the SLO on")
        ->group("Search");
    tune->add_option("--holdout", o.holdout, "Share of the trace (its end) held out of the search")
        ->capture_default_str()
        ->group("Search");
    tune->add_option("--reference-hpa", o.reference_hpa, "The seed's CPU HPA (a reference row)")
        ->capture_default_str()
        ->group("Output");
    tune->add_flag("!--no-knative", o.knative, "No Knative KPA reference row")->group("Output");
    tune->add_option("-o,--output", o.output_path, "Write the recommended HPA YAML")
        ->group("Output");
    tune->add_option("--json", o.json_path, "Write every candidate evaluated as JSON")
        ->group("Output");
    tune->add_option("--report", o.report_dir,
                     "Write pareto.svg and timeline.svg (the recommendation) into this directory")
        ->group("Output");
    tune->add_flag("--measure-resources", o.measure_resources,
                   "Run tide serve on --model-repository and write resources-patch.yaml "
                   "(requests and limits from measured memory and CPU) beside -o")
        ->group("Resources");
    tune->add_option("--resources-patch", o.resources_patch_path,
                     "Where to write the resources patch (implies --measure-resources)")
        ->group("Resources");
    tune->add_option("--memory-limit", o.memory_limit,
                     "The memory limit a pod may have (e.g. 512Mi): exit 4 if a model needs more")
        ->group("Resources");
    tune->add_option("--memory-headroom", o.memory_headroom,
                     "Memory limit above the measured peak (share)")
        ->capture_default_str()
        ->group("Resources");
    tune->add_option("--measure-seconds", o.measure_seconds,
                     "Seconds of load at the per-replica peak rate")
        ->capture_default_str()
        ->group("Resources");
    tune->add_option("--seed", s.seed, "Seed (the same arrivals for every candidate)")
        ->capture_default_str()
        ->group("Output");
    tune->add_flag("!--no-progress", o.progress, "No progress line (shown on a terminal)")
        ->group("Output");
    tune->callback(
        [&] { run = [&] { return tide::apps::RunTuneCommand(tune_opts, std::cout, std::cerr); }; });
  }

  // ---- tide up ----
  tide::apps::UpCommandOptions up_opts;
  {
    auto& o = up_opts;
    CLI::App* up = app.add_subcommand(
        "up",
        "The autoscaled fleet on one machine: tide serve replicas behind a router (the Service), "
        "scaled by the HPA controller on your autoscaling/v2 YAML. Prints "
        "{\"event\":\"listening\",\"port\":N,\"metrics_port\":N,\"pid\":N} when the router "
        "listens; Ctrl-C drains and stops every replica. See docs/up.md.");
    up->add_option("--model-repository", o.model_repository,
                   "Model repository the replicas serve (required; --demo: examples/models)");
    up->add_option("--hpa", o.hpa_file,
                   "HorizontalPodAutoscaler (autoscaling/v2) YAML, as you would kubectl apply it");
    up->add_option("--timings", o.timings_file,
                   "Small YAML of shortened controller timings (syncPeriod, scrapeInterval, "
                   "scaleDownStabilizationWindowSeconds, ...; examples/hpa/demo-timings.yaml)");
    up->add_option("--host", o.host, "Address the router and metrics listen on")
        ->capture_default_str();
    up->add_option("--port", o.port, "Router (inference) port; 0 picks a free one")
        ->capture_default_str();
    up->add_option("--metrics-port", o.metrics_port,
                   "Fleet and router metrics port (/metrics); 0 picks a free one")
        ->capture_default_str();
    up->add_option("--sync-period", o.sync_period,
                   "HPA sync period (kube-controller-manager's --horizontal-pod-autoscaler-sync-"
                   "period), e.g. 15s, 500ms")
        ->capture_default_str();
    up->add_option("--scrape-interval", o.scrape_interval,
                   "How often each replica's /metrics is read")
        ->capture_default_str();
    up->add_option("--termination-grace-period", o.termination_grace_period,
                   "SIGTERM to SIGKILL for a removed replica")
        ->capture_default_str();
    up->add_option("--activation-timeout", o.activation_timeout,
                   "How long the router holds a request while no replica is ready (then 503)")
        ->capture_default_str();
    up->add_option("--cpu-request", o.cpu_request,
                   "Each replica's CPU request: the denominator of CPU utilization")
        ->capture_default_str();
    up->add_option("--report", o.report_dir,
                   "Write timeline.csv, events.jsonl, report.svg and report.html into this "
                   "directory on exit (and when --demo's traffic ends)");
    up->add_option("--log-dir", o.log_dir, "Replicas' logs (default: a temporary directory)");
    up->add_flag("--demo", o.demo,
                 "Drive built-in traffic (warm-up, ramp, spike, fall, quiet: ~4 min) at the "
                 "simulated model, write the report, keep serving until Ctrl-C");
    up->add_option("--demo-model", o.demo_model, "The model --demo sends to")
        ->capture_default_str();
    up->add_option("--slo", o.slo_seconds,
                   "The p99 SLO line of the dashboard and report.svg, in seconds")
        ->capture_default_str();
    up->add_option("--metrics-source", o.metrics_source,
                   "Where the HPA's metrics come from: scrape (each replica's /metrics) or "
                   "prometheus=URL")
        ->capture_default_str();
    up->add_option("--adapter-rules", o.adapter_rules,
                   "prometheus=URL: the Prometheus Adapter rules (default: deploy/'s "
                   "components/prometheus-adapter-rules/config.yaml)");
    up->add_option("--prometheus-config", o.prometheus_config,
                   "Keep a Prometheus scrape config of the live replicas in this file (their "
                   "samples labelled namespace=\"tide-up\", pod=<replica>)");
    up->callback(
        [&] { run = [&] { return tide::apps::RunUpCommand(up_opts, std::cout, std::cerr); }; });
  }

  // CLI11 reports an unknown subcommand as "A subcommand is required": name
  // it, and list the ones there are.
  {
    CLI::App* level = &app;
    std::string path = "tide";
    for (int i = 1; i < argc && level->get_require_subcommand_min() > 0; ++i) {
      const std::string word = argv[i];
      if (word.empty() || word[0] == '-') break;
      CLI::App* next = nullptr;
      std::string names;
      for (CLI::App* sub : level->get_subcommands([](CLI::App*) { return true; })) {
        names += (names.empty() ? "" : ", ") + sub->get_name();
        if (sub->check_name(word)) next = sub;
      }
      if (!next) {
        std::fprintf(stderr, "%s: unknown subcommand '%s' (one of: %s; see %s --help)\n",
                     path.c_str(), word.c_str(), names.c_str(), path.c_str());
        return 2;
      }
      level = next;
      path += " " + word;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a bad command line exits 2, as usage
    // errors do elsewhere in tide (CLI11's own codes are 100 and up).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (absl::Status s = tide::common::InitLogging(log); !s.ok()) {
    std::fprintf(stderr, "tide: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  tide::common::RaiseDescriptorLimit();  // connections need descriptors (common/fd_limit.h)
  if (run) exit_code = run();
  return exit_code;
}
