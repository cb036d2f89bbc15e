#pragma once

// `tide up`: the autoscaled fleet on one machine (src/fleet): `tide serve`
// replicas behind the router, scaled by the HPA Controller on the user's
// autoscaling/v2 YAML. The command logic behind the flags main.cc defines.

#include <iosfwd>
#include <string>

namespace tide::apps {

struct UpCommandOptions {
  std::string model_repository;
  std::string hpa_file;  // an autoscaling/v2 HorizontalPodAutoscaler
  // Shortened controller timings (sync period, stabilization windows, ...):
  // a small YAML file, see examples/hpa/demo-timings.yaml. Empty: none.
  std::string timings_file;
  std::string host = "0.0.0.0";
  int port = 8000;  // 0: any free port
  int metrics_port = 8002;
  std::string sync_period = "15s";
  std::string scrape_interval = "15s";
  std::string termination_grace_period = "30s";
  std::string activation_timeout = "30s";
  std::string cpu_request = "500m";
  std::string report_dir;  // timeline.csv, events.jsonl, report.svg on exit
  std::string log_dir;     // replicas' logs (default: a temporary directory)
  bool demo = false;       // built-in traffic shape, then the report
  std::string demo_model = "simulated";
  std::string metrics_source = "scrape";  // or prometheus=URL
  // The Prometheus Adapter rules for prometheus=URL (default: deploy/'s).
  std::string adapter_rules;
  // Rewritten with the live replicas every second: a Prometheus scrape config.
  std::string prometheus_config;
  std::string tide_binary;   // default: this executable
  double slo_seconds = 0.2;  // the p99 line of the report
};

// Runs until SIGINT/SIGTERM (or, with --demo, until then too: the demo's
// traffic ends, the report is written, the fleet keeps serving). Prints
// {"event":"listening","port":N,"metrics_port":N,"pid":N} on `out` once the
// router listens. Returns 0 after a clean shutdown, 2 for bad flags or HPA
// (the same field errors as `tide hpa validate`), 1 when the fleet fails.
int RunUpCommand(const UpCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace tide::apps
