#include "tune_resources.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "autoscaler/quantity.h"
#include "fleet/child_process.h"
#include "fleet/replica.h"
#include "http/client.h"
#include "loadgen/load_runner.h"

namespace tide::apps {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMiB = 1024 * 1024;
constexpr double kRequestMargin = 0.05;

std::string MiB(int64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / double(kMiB)); }

// A field of /proc/PID/status in bytes ("VmRSS:   15212 kB").
int64_t StatusBytes(int pid, const std::string& field) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream in(line.substr(field.size() + 1));
      int64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

// utime + stime of /proc/PID/stat (fields 14 and 15), in seconds.
double CpuSeconds(int pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(text.substr(paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// One `tide serve` on a repository, listening on port 0.
struct Server {
  std::unique_ptr<fleet::ChildProcess> process;
  fleet::ListeningPorts ports;
};

absl::StatusOr<Server> StartServer(const std::string& binary, const fs::path& repo,
                                   const fs::path& log) {
  fleet::ChildProcess::Options o;
  o.argv = {
      binary,          "serve", "--model-repository", repo.string(), "--http-port", "0",
      "--grpc-port",   "-1",    "--metrics-port",     "0",           "--host",      "127.0.0.1",
      "--drain-delay", "0"};
  o.log_path = log.string();
  auto child = fleet::ChildProcess::Spawn(o);
  if (!child.ok()) return child.status();
  Server s;
  s.process = std::move(*child);
  // Models load before the server listens; a large TorchScript file takes a while.
  const absl::Time deadline = absl::Now() + absl::Minutes(5);
  while (absl::Now() < deadline) {
    auto line = s.process->ReadLine(deadline - absl::Now());
    if (!line.ok()) {
      return absl::UnavailableError(absl::StrCat("tide serve on ", repo.string(),
                                                 " did not listen (", line.status().message(),
                                                 "); its log: ", log.string()));
    }
    if (auto ports = fleet::ParseListeningLine(*line)) {
      s.ports = *ports;
      return s;
    }
  }
  return absl::DeadlineExceededError("tide serve did not listen within 5 minutes");
}

// Whether `model` is ready; else the server's reason.
bool ModelReady(httpc::Client& client, int port, const std::string& model, std::string* why) {
  httpc::Request req;
  req.target = absl::StrCat("/v2/models/", model, "/ready");
  auto r = client.Send("127.0.0.1", static_cast<uint16_t>(port), req);
  if (r.ok() && r->status == 200) return true;
  req.target = absl::StrCat("/v2/models/", model);
  auto m = client.Send("127.0.0.1", static_cast<uint16_t>(port), req);
  *why = m.ok() ? m->body : std::string(m.status().message());
  // {"error":"model 'x' is not available: <why>"} -> <why>
  if (size_t at = why->find("is not available: "); at != std::string::npos) {
    *why = why->substr(at + 18);
    if (why->size() >= 2 && why->substr(why->size() - 2) == "\"}") why->resize(why->size() - 2);
  }
  return false;
}

// Sends `model` load: concurrency 1 for `requests`, or Poisson at `rate`
// for `seconds`. The answers counted by the load engine.
absl::StatusOr<loadgen::EngineResult> Load(int port, const std::string& model, int requests,
                                           double rate, double seconds, uint64_t seed) {
  loadgen::LoadOptions o;
  o.url = absl::StrCat("http://127.0.0.1:", port);
  o.model = model;
  o.metrics_url = "none";
  o.seed = seed;
  if (requests > 0) {
    o.concurrency = "1";
    o.requests = requests;
  } else {
    o.rate = absl::StrFormat("%.3f", rate);
    o.duration_s = seconds;
  }
  auto runner = loadgen::LoadRunner::Create(o);
  if (!runner.ok()) return runner.status();
  auto report = (*runner)->Run();
  if (!report.ok()) return report.status();
  if (report->levels.empty()) return absl::InternalError("the load ran no level");
  return report->levels[0].result;
}

}  // namespace

absl::StatusOr<ResourceMeasurement> MeasureResources(const MeasureOptions& o, std::ostream& log) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(o.model_repository, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "config.pbtxt")) {
      names.push_back(entry.path().filename().string());
    }
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model-repository ", o.model_repository, ": ", ec.message()));
  }
  std::sort(names.begin(), names.end());
  if (std::find(names.begin(), names.end(), o.model) == names.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--model ", o.model, " is not in --model-repository ", o.model_repository));
  }
  const fs::path tmp = fs::temp_directory_path() / absl::StrCat("tide-tune-measure-", ::getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } cleanup{tmp};
  httpc::Client client;
  ResourceMeasurement m;

  // Each model alone: what loading and warming it costs.
  for (const std::string& name : names) {
    ModelMemory mm;
    mm.name = name;
    fs::path repo = tmp / ("alone-" + name);
    fs::create_directories(repo);
    fs::copy(fs::path(o.model_repository) / name, repo / name, fs::copy_options::recursive, ec);
    if (ec) return absl::InternalError(absl::StrCat("copying model ", name, ": ", ec.message()));
    auto server = StartServer(o.tide_binary, repo, tmp / ("alone-" + name + ".log"));
    if (!server.ok()) return server.status();
    mm.loaded = ModelReady(client, server->ports.http_port, name, &mm.error);
    if (mm.loaded) {
      auto warm = Load(server->ports.http_port, name, o.warmup_requests, 0, 0, o.seed);
      if (warm.ok()) {
        mm.warmed = warm->ok;
      } else {
        mm.error = absl::StrCat("warm-up: ", warm.status().message());
      }
    }
    mm.rss_bytes = StatusBytes(server->ports.pid, "VmRSS");
    mm.hwm_bytes = StatusBytes(server->ports.pid, "VmHWM");
    server->process->Kill();
    log << absl::StrFormat("  model %-12s %s\n", name,
                           mm.loaded
                               ? absl::StrFormat("RSS %s after load + %d warm-up requests, "
                                                 "peak (VmHWM) %s",
                                                 MiB(mm.rss_bytes), mm.warmed, MiB(mm.hwm_bytes))
                               : "not loaded: " + mm.error);
    if (name == o.model && !mm.loaded) {
      return absl::FailedPreconditionError(
          absl::StrCat("model ", name, " does not load in tide serve: ", mm.error));
    }
    m.models.push_back(std::move(mm));
  }

  // The pod: the whole repository, the tuned model under load.
  auto server = StartServer(o.tide_binary, o.model_repository, tmp / "pod.log");
  if (!server.ok()) return server.status();
  const int port = server->ports.http_port, pid = server->ports.pid;
  for (const ModelMemory& mm : m.models) {
    std::string why;
    if (mm.loaded && ModelReady(client, port, mm.name, &why)) {
      (void)Load(port, mm.name, o.warmup_requests, 0, 0, o.seed);
    }
  }
  m.pod_ready_rss_bytes = StatusBytes(pid, "VmRSS");
  const double cpu0 = CpuSeconds(pid);
  auto load = Load(port, o.model, 0, o.rate, o.seconds, o.seed);
  const double cpu1 = CpuSeconds(pid);
  m.pod_rss_bytes = StatusBytes(pid, "VmRSS");
  m.pod_hwm_bytes = StatusBytes(pid, "VmHWM");
  server->process->Kill();
  if (!load.ok()) {
    return absl::Status(load.status().code(),
                        absl::StrCat("load on model ", o.model, ": ", load.status().message()));
  }
  m.rate = o.rate;
  m.load_seconds = load->window_s;
  m.answered = load->ok;
  m.failed = load->failed;
  m.cpu_seconds = cpu1 - cpu0;
  m.cpu_seconds_per_request = m.answered > 0 ? m.cpu_seconds / static_cast<double>(m.answered) : 0;
  for (const auto& [cause, count] : load->errors)
    m.errors.push_back(absl::StrCat(count, " ", cause));
  log << absl::StrFormat(
      "  the pod (all models): RSS %s ready and warm; under %.2f req/s on %s for %.0f s: %d "
      "answered, %d failed, RSS %s, peak (VmHWM) %s, %.4f CPU s per request\n",
      MiB(m.pod_ready_rss_bytes), m.rate, o.model, m.load_seconds, m.answered, m.failed,
      MiB(m.pod_rss_bytes), MiB(m.pod_hwm_bytes), m.cpu_seconds_per_request);
  if (m.failed * 100 > m.answered + m.failed) {
    log << "  warning: over 1 % of the requests failed (";
    for (size_t i = 0; i < m.errors.size(); ++i) log << (i ? ", " : "") << m.errors[i];
    log << "): one server could not keep up with this rate on this machine (busy CPUs?); the "
           "peak memory and CPU per request are from the requests it answered\n";
  }
  return m;
}

std::string MemoryQuantity(int64_t bytes) {
  if (bytes % kMiB == 0) return absl::StrCat(bytes / kMiB, "Mi");
  return absl::StrCat(bytes);
}

ResourceRecommendation RecommendResources(const ResourceOptions& o, const ResourceMeasurement& m) {
  auto round_up = [](double bytes) {
    return static_cast<int64_t>(std::ceil(bytes / static_cast<double>(kMiB))) * kMiB;
  };
  ResourceRecommendation r;
  int64_t steady = std::max(m.pod_ready_rss_bytes, m.pod_rss_bytes);
  int64_t peak = m.pod_hwm_bytes;
  for (const ModelMemory& mm : m.models) {
    if (!mm.loaded) continue;
    steady = std::max(steady, mm.rss_bytes);
    peak = std::max(peak, mm.hwm_bytes);
  }
  // RSS differs from run to run by a few hundred KiB (allocator, warm-up
  // inputs): the request keeps a margin above the largest figure seen.
  r.memory_request_bytes = round_up(static_cast<double>(steady) * (1 + kRequestMargin));
  r.memory_limit_bytes = std::max(r.memory_request_bytes,
                                  round_up(static_cast<double>(peak) * (1 + o.memory_headroom)));
  if (o.memory_limit_bytes) {
    const int64_t limit = *o.memory_limit_bytes;
    for (const ModelMemory& mm : m.models) {
      if (mm.loaded && mm.hwm_bytes > limit) {
        r.problems.push_back(absl::StrFormat(
            "model '%s' needs %s to load and warm (peak RSS, VmHWM), above --memory-limit %s: "
            "the pod would be OOMKilled while loading it",
            mm.name, MiB(mm.hwm_bytes), o.memory_limit_text));
      }
    }
    if (m.pod_hwm_bytes > limit) {
      r.problems.push_back(absl::StrFormat(
          "the pod (every model of the repository, under load) peaks at %s (VmHWM), above "
          "--memory-limit %s: it would be OOMKilled",
          MiB(m.pod_hwm_bytes), o.memory_limit_text));
    }
    if (r.problems.empty() && r.memory_limit_bytes > limit) {
      r.warnings.push_back(absl::StrFormat(
          "--memory-limit %s leaves less than %.0f %% headroom above the measured peak %s",
          o.memory_limit_text, 100 * o.memory_headroom, MiB(peak)));
    }
    r.memory_limit_bytes = limit;
    r.memory_request_bytes = std::min(r.memory_request_bytes, limit);
  }
  const int64_t cpu_milli = std::max<int64_t>(1, std::llround(o.cpu_request_cores * 1000));
  r.cpu_request = autoscaler::Quantity::FromMilli(cpu_milli).ToString();
  r.cpu_limit = autoscaler::Quantity::FromMilli(2 * cpu_milli).ToString();
  return r;
}

std::string ResourcesPatchYaml(const ResourceOptions& o, const ResourceMeasurement& m,
                               const ResourceRecommendation& r, const std::string& command) {
  std::string y;
  auto c = [&](const std::string& line) { absl::StrAppend(&y, "# ", line, "\n"); };
  c("Resources for the tide Deployment, from tide serve's own figures (docs/tune.md),");
  c("measured on this machine by: " + command);
  c("Use beside the HPA: kustomization.yaml `patches: [{path: resources-patch.yaml}]`.");
  c("Measured:");
  for (const ModelMemory& mm : m.models) {
    if (mm.loaded) {
      c(absl::StrFormat("  model %s alone: RSS %s after loading and %d warm-up requests; peak %s",
                        mm.name, MiB(mm.rss_bytes), mm.warmed, MiB(mm.hwm_bytes)));
    } else {
      c(absl::StrFormat("  model %s: did not load here (%s); not counted", mm.name,
                        mm.error.substr(0, 120)));
    }
  }
  c(absl::StrFormat("  the pod (every model): RSS %s ready and warm, %s after %.0f s at %.2f req/s",
                    MiB(m.pod_ready_rss_bytes), MiB(m.pod_rss_bytes), m.load_seconds, m.rate));
  c(absl::StrFormat("    (the recommended HPA's per-replica peak rate); peak RSS (VmHWM) %s;",
                    MiB(m.pod_hwm_bytes)));
  c(absl::StrFormat("    %.4f CPU seconds per request (%d answered, %d failed)",
                    m.cpu_seconds_per_request, m.answered, m.failed));
  absl::StrAppend(&y, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ", o.deployment,
                  "\nspec:\n  template:\n    spec:\n      containers:\n        - name: ",
                  o.container, "\n          resources:\n            requests:\n");
  double used = m.cpu_seconds_per_request * m.rate;
  absl::StrAppend(
      &y, "              # The denominator of the HPA's CPU utilization: the request the",
      "\n              # simulation assumed",
      o.cpu_target.empty() ? "" : absl::StrCat(" (target ", o.cpu_target, ")"),
      absl::StrFormat(". Measured: %.3f cores at the peak rate = %.0f %% of it.\n", used,
                      100 * used / std::max(1e-9, o.cpu_request_cores)),
      "              cpu: \"", r.cpu_request, "\"\n",
      "              # The steady state: the largest RSS measured (ready, warm, under load)\n",
      "              # + 5 % for run-to-run variation.\n",
      "              memory: ", MemoryQuantity(r.memory_request_bytes), "\n");
  absl::StrAppend(&y, "            limits:\n              # Twice the request: room for bursts.\n",
                  "              cpu: \"", r.cpu_limit, "\"\n");
  if (o.memory_limit_bytes) {
    absl::StrAppend(&y, "              # --memory-limit ", o.memory_limit_text,
                    absl::StrFormat("; every measured peak is below it.\n"));
  } else {
    absl::StrAppend(&y, absl::StrFormat("              # The largest peak RSS measured + %.0f %% "
                                        "headroom, so loading a model is never OOMKilled.\n",
                                        100 * o.memory_headroom));
  }
  absl::StrAppend(&y, "              memory: ", MemoryQuantity(r.memory_limit_bytes), "\n");
  return y;
}

}  // namespace tide::apps
