#include "up_command.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/quantity.h"
#include "fleet/dashboard_api.h"
#include "fleet/demo_traffic.h"
#include "fleet/fleet.h"
#include "fleet/fleet_report.h"
#include "fleet/prometheus_source.h"
#include "fleet/scrape_source.h"
#include "hpa_command.h"
#include "nlohmann/json.hpp"

namespace tide::apps {

namespace {

namespace fs = std::filesystem;

bool ParseDurationFlag(const std::string& flag, const std::string& text, absl::Duration* out,
                       std::ostream& err) {
  if (!absl::ParseDuration(text, out) || *out < absl::ZeroDuration()) {
    err << "tide up: " << flag << ": \"" << text
        << "\" is not a duration (write e.g. 15s, 500ms, 1m)\n";
    return false;
  }
  return true;
}

// A file of tide's source tree (deploy/..., examples/...): from the working
// directory, else from the tree this binary was built in (build/apps/tide/).
std::string FindRepoFile(const std::string& relative) {
  if (fs::exists(relative)) return relative;
  std::error_code ec;
  fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (int i = 0; i < 5 && !dir.empty(); ++i, dir = dir.parent_path()) {
    if (fs::exists(dir / relative)) return (dir / relative).string();
  }
  return "";
}

// `--metrics-source`: null for the embedded scraper, else a factory for the
// Prometheus source (src/fleet/prometheus_source) over deploy/'s adapter rules
// that refuses, at start, an HPA metric no rule covers.
absl::StatusOr<fleet::MetricsSourceFactory> MetricsSourceFromFlag(const std::string& flag,
                                                                  const std::string& adapter_rules,
                                                                  const autoscaler::HpaSpec& spec,
                                                                  absl::Duration cpu_window) {
  if (flag == "scrape") return fleet::MetricsSourceFactory();
  if (flag.rfind("prometheus=", 0) == 0 && flag.size() > 11) {
    std::string url = flag.substr(11);
    std::string rules =
        adapter_rules.empty()
            ? FindRepoFile("deploy/k8s/components/prometheus-adapter-rules/config.yaml")
            : adapter_rules;
    if (rules.empty()) {
      return absl::InvalidArgumentError(
          "--metrics-source prometheus=URL: the Prometheus Adapter rules file was not found; "
          "give it with --adapter-rules FILE");
    }
    return fleet::MetricsSourceFactory(
        [url, rules, spec, cpu_window](const fleet::MetricsSourceContext& ctx)
            -> absl::StatusOr<std::unique_ptr<autoscaler::MetricsSource>> {
          fleet::PrometheusMetricsSource::Options po;
          po.base_url = url;
          po.adapter_rules_path = rules;
          po.pods = ctx.pods;
          po.cpu_request = ctx.cpu_request;
          po.cpu_window = cpu_window;
          auto source = fleet::PrometheusMetricsSource::Create(std::move(po));
          if (!source.ok()) return source.status();
          if (absl::Status covered = (*source)->CheckCovered(spec); !covered.ok()) {
            return absl::InvalidArgumentError(covered.message());
          }
          return std::unique_ptr<autoscaler::MetricsSource>(std::move(*source));
        });
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--metrics-source: \"", flag, "\": expected scrape or prometheus=URL"));
}

// Applies a timings file (examples/hpa/demo-timings.yaml) over the flags.
bool ApplyTimings(const std::string& path, autoscaler::ControllerConfig* config,
                  absl::Duration* scrape_interval, autoscaler::HpaSpec* spec, std::ostream& err) {
  std::ifstream in(path);
  if (!in) {
    err << "tide up: --timings " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto docs = autoscaler::YamlToJson(ss.str());
  if (!docs.ok() || docs->size() != 1 || !(*docs)[0].is_object()) {
    err << "tide up: --timings " << path << ": not a YAML mapping\n";
    return false;
  }
  for (const auto& [key, value] : (*docs)[0].items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    absl::Duration d;
    if (key == "scaleDownStabilizationWindowSeconds" ||
        key == "scaleUpStabilizationWindowSeconds") {
      if (!value.is_number_integer()) {
        err << "tide up: --timings " << path << ": " << key << ": an integer is expected\n";
        return false;
      }
      if (!spec->behavior) spec->behavior = autoscaler::Behavior{};
      auto& rules = key[5] == 'D' ? spec->behavior->scale_down : spec->behavior->scale_up;
      if (!rules) rules = autoscaler::ScalingRules{};
      rules->stabilization_window_seconds = value.get<int32_t>();
      if (key[5] == 'D') config->downscale_stabilization_window = absl::Seconds(value.get<int>());
      continue;
    }
    if (!absl::ParseDuration(text, &d)) {
      err << "tide up: --timings " << path << ": " << key << ": \"" << text
          << "\" is not a duration\n";
      return false;
    }
    if (key == "syncPeriod") {
      config->sync_period = d;
    } else if (key == "scrapeInterval") {
      *scrape_interval = d;
    } else if (key == "cpuInitializationPeriod") {
      config->cpu_initialization_period = d;
    } else if (key == "initialReadinessDelay") {
      config->delay_of_initial_readiness_status = d;
    } else if (key == "downscaleStabilization") {
      config->downscale_stabilization_window = d;
    } else {
      err << "tide up: --timings " << path << ": unknown key " << key << "\n";
      return false;
    }
  }
  return true;
}

std::string Clock(absl::Time t, absl::Time start) {
  return absl::StrFormat("%7.1fs", absl::ToDoubleSeconds(t - start));
}

}  // namespace

int RunUpCommand(const UpCommandOptions& options, std::ostream& out, std::ostream& err) {
  UpCommandOptions o = options;
  if (o.demo) {
    // The demo runs deploy/'s own HPA with its shortened timings, and writes
    // its report, unless told otherwise.
    if (o.model_repository.empty()) o.model_repository = FindRepoFile("examples/models");
    if (o.hpa_file.empty()) o.hpa_file = FindRepoFile("deploy/k8s/overlays/hpa-cpu/hpa.yaml");
    if (o.timings_file.empty()) o.timings_file = FindRepoFile("examples/hpa/demo-timings.yaml");
    if (o.report_dir.empty()) o.report_dir = "tide-up-report";
  }
  // ---- flags ----
  if (o.model_repository.empty()) {
    err << "tide up: --model-repository is required\n";
    return 2;
  }
  if (!fs::is_directory(o.model_repository)) {
    err << "tide up: --model-repository " << o.model_repository << ": not a directory\n";
    return 2;
  }
  if (o.hpa_file.empty()) {
    err << "tide up: --hpa is required (an autoscaling/v2 HorizontalPodAutoscaler YAML)\n";
    return 2;
  }
  fleet::Fleet::Options fo;
  absl::Duration grace, activation;
  if (!ParseDurationFlag("--sync-period", o.sync_period, &fo.controller.sync_period, err) ||
      !ParseDurationFlag("--scrape-interval", o.scrape_interval, &fo.scrape_interval, err) ||
      !ParseDurationFlag("--termination-grace-period", o.termination_grace_period, &grace, err) ||
      !ParseDurationFlag("--activation-timeout", o.activation_timeout, &activation, err)) {
    return 2;
  }
  if (fo.controller.sync_period <= absl::ZeroDuration() ||
      fo.scrape_interval <= absl::ZeroDuration()) {
    err << "tide up: --sync-period and --scrape-interval must be positive\n";
    return 2;
  }
  auto cpu = autoscaler::Quantity::Parse(o.cpu_request);
  if (!cpu.ok() || cpu->MilliValue() <= 0) {
    err << "tide up: --cpu-request: \"" << o.cpu_request
        << "\" is not a positive CPU quantity (write e.g. 500m, 1, 2)\n";
    return 2;
  }
  if (o.port < 0 || o.port > 65535 || o.metrics_port < 0 || o.metrics_port > 65535) {
    err << "tide up: --port and --metrics-port must be 0..65535\n";
    return 2;
  }

  // ---- the HPA: exactly what `tide hpa validate --hpa-scale-to-zero` says ----
  {
    app::HpaValidateOptions vo;
    vo.file = o.hpa_file;
    vo.hpa_scale_to_zero = true;  // minReplicas 0 with Object/External metrics
    std::ostringstream vout, verr;
    int rc = app::RunHpaValidate(vo, std::cin, vout, verr);
    if (rc != 0) {
      err << "tide up: --hpa " << o.hpa_file << " is refused:\n" << vout.str() << verr.str();
      return 2;
    }
  }
  std::ifstream hpa_in(o.hpa_file);
  std::stringstream hpa_text;
  hpa_text << hpa_in.rdbuf();
  auto specs = autoscaler::HpaSpecsFromYaml(hpa_text.str());
  if (!specs.ok() || specs->size() != 1) {
    err << "tide up: --hpa " << o.hpa_file << ": exactly one HorizontalPodAutoscaler is expected\n";
    return 2;
  }
  fo.hpa = (*specs)[0];
  fo.controller.hpa_scale_to_zero = true;
  if (!o.timings_file.empty() &&
      !ApplyTimings(o.timings_file, &fo.controller, &fo.scrape_interval, &fo.hpa, err)) {
    return 2;
  }
  auto source =
      MetricsSourceFromFlag(o.metrics_source, o.adapter_rules, fo.hpa, fo.scrape_interval);
  if (!source.ok()) {
    err << "tide up: " << source.status().message() << "\n";
    return 2;
  }
  if (!*source) {
    absl::Status producible = fleet::CheckProducible(fo.hpa);
    if (!producible.ok()) {
      err << "tide up: --hpa " << o.hpa_file << ": " << producible.message() << "\n";
      return 2;
    }
  }

  // ---- the fleet ----
  std::string binary = o.tide_binary;
  if (binary.empty()) binary = fs::read_symlink("/proc/self/exe").string();
  std::string log_dir = o.log_dir;
  if (log_dir.empty()) {
    log_dir = (fs::temp_directory_path() / absl::StrCat("tide-up-", getpid())).string();
  }
  fo.tide_binary = binary;
  // The router takes a replica out of rotation and waits for its requests
  // before the SIGTERM, so the replica's own drain delay (which waits for
  // endpoints to update on a cluster) has nothing left to wait for.
  std::string serve_repository = o.model_repository;
  if (o.demo) {
    // The demo's replicas serve its model alone, from a copy of that model's
    // folder: the other models of the repository may need what `scripts/run.sh`
    // does not build (the TorchScript plugin and its generated model.pt
    // files), and one model that cannot load keeps a strict replica unready.
    fs::path from = fs::path(o.model_repository) / o.demo_model;
    fs::path copy = fs::path(log_dir) / "demo-repository";
    std::error_code ec;
    fs::remove_all(copy, ec);
    fs::create_directories(copy, ec);
    if (!ec) fs::copy(from, copy / o.demo_model, fs::copy_options::recursive, ec);
    if (ec) {
      err << "tide up: --demo: cannot copy model " << from.string() << " to " << copy.string()
          << ": " << ec.message() << "\n";
      return 1;
    }
    serve_repository = copy.string();
  }
  fo.serve_args = {"--model-repository", serve_repository, "--drain-delay", "0"};
  fo.log_dir = log_dir;
  fo.host = o.host;
  fo.port = static_cast<uint16_t>(o.port);
  fo.metrics_port = static_cast<uint16_t>(o.metrics_port);
  fo.termination_grace_period = grace;
  fo.activation_timeout = activation;
  fo.cpu_request = *cpu;
  fo.metrics_source = *source;

  // SIGINT/SIGTERM are taken by sigtimedwait below: block them before any
  // thread starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const bool tty = isatty(STDOUT_FILENO) == 1;
  fleet::FleetRecorder recorder(fo.hpa);
  absl::Mutex out_mu;
  const absl::Time start = fo.clock ? fo.clock->Now() : common::MonotonicClock::Get()->Now();
  fo.on_event = [&](const fleet::FleetEvent& e) {
    recorder.AddEvent(e);
    if (tty) return;                                     // the live view shows them
    if (e.kind == "decision" && e.from == e.to) return;  // only rescales in the log
    absl::MutexLock lock(&out_mu);
    out << Clock(e.time, start) << "  " << fleet::EventLine(e) << "\n" << std::flush;
  };

  // The dashboard (GET / on the metrics port) reads the recorder's rows.
  fo.routes = fleet::DashboardRoutes({.recorder = &recorder, .slo_seconds = o.slo_seconds});
  const absl::Duration scrape_interval = fo.scrape_interval;
  auto f = fleet::Fleet::Create(std::move(fo));
  if (!f.ok()) {
    err << "tide up: " << f.status().message() << "\n";
    return f.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  {
    absl::MutexLock lock(&out_mu);
    out << "{\"event\":\"listening\",\"port\":" << (*f)->port()
        << ",\"metrics_port\":" << (*f)->metrics_port() << ",\"pid\":" << getpid() << "}\n"
        << std::flush;
    if (!tty) {
      out << "tide up: dashboard at http://127.0.0.1:" << (*f)->metrics_port() << "/\n"
          << "tide up: replicas' logs in " << log_dir << "\n"
          << "tide up: no CPU limit is applied (cgroup v2 cpu.max is not set by tide up): a "
             "replica may use more CPU than --cpu-request, as a pod without a limit may\n"
          << std::flush;
    }
  }
  (*f)->Start();

  std::unique_ptr<fleet::DemoTraffic> demo;
  if (o.demo) {
    fleet::DemoTraffic::Options dopt;
    dopt.port = (*f)->port();
    dopt.model = o.demo_model;
    auto d = fleet::DemoTraffic::Start(dopt);
    if (!d.ok()) {
      err << "tide up: --demo: " << d.status().message() << "\n";
    } else {
      demo = std::move(*d);
    }
  }

  bool report_written = false;
  auto write_report = [&] {
    if (o.report_dir.empty() || report_written) return;
    absl::Status s = recorder.WriteReport(o.report_dir, o.slo_seconds);
    absl::MutexLock lock(&out_mu);
    if (s.ok()) {
      out << "tide up: report written to " << o.report_dir << " (timeline.csv, events.jsonl, "
          << "report.svg, report.html)\n"
          << std::flush;
    } else {
      err << "tide up: --report: " << s.message() << "\n";
    }
    report_written = true;
  };

  // Once a second: a timeline row, and the live view on a TTY.
  for (;;) {
    timespec one_second{1, 0};
    int sig = sigtimedwait(&signals, nullptr, &one_second);
    if (sig == SIGINT || sig == SIGTERM) break;
    fleet::FleetStatus st = (*f)->Status();
    if (!o.prometheus_config.empty()) {
      absl::Status w =
          fleet::WritePrometheusScrapeConfig(o.prometheus_config, (*f)->Pods(), scrape_interval);
      if (!w.ok()) err << "tide up: --prometheus-config: " << w.message() << "\n";
    }
    recorder.Sample(common::MonotonicClock::Get()->Now(), st, (*f)->RenderMetrics(),
                    demo ? demo->Stats() : fleet::DemoTrafficStats{});
    if (tty) {
      absl::MutexLock lock(&out_mu);
      out << fleet::RenderLiveView(st, recorder.LastRow(), demo ? demo->Phase() : "")
          << "Dashboard: http://127.0.0.1:" << (*f)->metrics_port() << "/\n"
          << std::flush;
    }
    if (demo && demo->Done() && !report_written) {
      write_report();
      absl::MutexLock lock(&out_mu);
      out << "tide up: the demo's traffic is over; still serving on port " << (*f)->port()
          << " until Ctrl-C\n"
          << std::flush;
    }
  }
  {
    absl::MutexLock lock(&out_mu);
    out << "tide up: draining and stopping every replica\n" << std::flush;
  }
  if (demo) demo->Stop();
  (*f)->Shutdown();
  write_report();
  return 0;
}

}  // namespace tide::apps
