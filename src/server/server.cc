#include "server/server.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "backends/backend.h"
#include "common/blas_env.h"
#include "common/fd_limit.h"
#include "core/inference_service.h"
#include "frontends/grpc/grpc_server.h"
#include "frontends/http/http_server.h"
#include "frontends/http/v2_handlers.h"
#include "metrics/metric_names.h"
#include "metrics/metrics.h"
#include "metrics/process_collector.h"
#include "server/gpu_metrics_setup.h"
#include "server/model_control.h"
#include "server/model_loader.h"
#include "server/server_metrics.h"
#include "spdlog/spdlog.h"

namespace tide::server {
namespace {

// Caps the inference port's connections below the descriptor limit (raised
// to the hard limit at start-up), so that a flood meets the cap, a prompt
// 503, instead of EMFILE, which would also keep the metrics port and health
// checks from accepting. kKeep descriptors stay for everything else.
void CapConnectionsByDescriptors(http::HttpServer::Options* ho) {
  constexpr int kKeep = 64;  // metrics scrapes, gRPC, model files, logs
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const int open = common::OpenDescriptors();
  if (open < 0) return;
  const int64_t budget = common::ConnectionBudget(rl.rlim_cur, open, kKeep);
  const int64_t reserved = std::max(0, ho->reserved_connections);
  if (int64_t{ho->max_connections} + reserved <= budget) return;
  const int64_t keep_reserved = std::min(reserved, budget / 2);
  const int cap = static_cast<int>(std::max<int64_t>(1, budget - keep_reserved));
  spdlog::warn(
      "--max-connections {} (+{} for health checks) needs more descriptors than RLIMIT_NOFILE "
      "{} leaves ({} open now, {} kept for metrics, gRPC and files): the inference port takes "
      "at most {} connections (+{} for health checks); raise the limit (ulimit -n, or "
      "LimitNOFILE= in a systemd unit) to allow {}",
      ho->max_connections, reserved, static_cast<uint64_t>(rl.rlim_cur), open, kKeep, cap,
      keep_reserved, ho->max_connections);
  ho->max_connections = cap;
  ho->reserved_connections = static_cast<int>(keep_reserved);
}

constexpr char kVersion[] = "0.1.0";

// Waits for SIGTERM or SIGINT (blocked in every thread, see RunServe) for at
// most `timeout`; returns the signal or 0.
int WaitForSignal(absl::Duration timeout) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (timeout == absl::InfiniteDuration()) {
    int sig = 0;
    sigwait(&set, &sig);
    return sig;
  }
  // sigtimedwait also returns early, with EINTR, when the process is stopped
  // and continued (SIGSTOP/SIGCONT: `docker pause`, a debugger): wait out the
  // rest of the time, or the drain delay would end there.
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return 0;
    timespec ts = absl::ToTimespec(left);
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno != EINTR) return 0;  // EAGAIN: the time is up
  }
}

// While the models load (minutes, for a large one) nothing is served, so a
// SIGTERM or SIGINT then ends the process at once, exit 0: after the load
// it would come too late (the kubelet's SIGKILL follows the grace period).
// Ends (destructor) before any listener opens; a signal after that waits for
// RunServe's drain.
class SignalsWhileLoading {
 public:
  SignalsWhileLoading() : thread_([this] { Watch(); }) {}
  ~SignalsWhileLoading() {
    done_.Notify();
    thread_.join();
  }

 private:
  void Watch() {
    while (!done_.HasBeenNotified()) {
      if (int sig = WaitForSignal(absl::Milliseconds(50)); sig != 0) {
        spdlog::info("received {} while loading models; nothing is served yet: exiting",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
        std::fflush(nullptr);
        _exit(0);  // a backend may be mid-load: do not wait for it
      }
    }
  }
  absl::Notification done_;
  std::thread thread_;
};

}  // namespace

absl::StatusOr<int> RunServe(const ServeOptions& o) {
  if (o.model_repository.empty()) {
    return absl::InvalidArgumentError("--model-repository is required (e.g. examples/models)");
  }
  // Block the shutdown signals before any thread starts, so that only
  // WaitForSignal ever sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // glibc raises its mmap threshold to the size of the largest block freed
  // (up to 32 MiB), after which large request bodies and decoded tensors come
  // from per-thread arenas that are never given back: one 64 MiB request left
  // ~830 MiB resident per I/O thread. A fixed threshold keeps blocks of 4 MiB
  // and more in their own mappings, returned to the system when freed.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's debug
  // deadlock detection on: every lock acquisition takes a process-wide
  // spinlock and updates a lock graph (~2,100 instructions per request, 4 %,
  // and a cache line shared by all threads). A release build of Abseil does
  // not do this; the unit tests, which do not come through here, still do.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  metrics::Registry registry;
  ServerMetrics sm = ServerMetrics::Register(&registry);
  metrics::AddProcessMetrics(&registry);

  backends::BackendRegistry backends;
  backends::RegisterBuiltinBackends(&backends);
  std::vector<std::string> plugin_dirs = backends::BackendRegistry::DefaultPluginDirectories();
  if (!o.backend_directory.empty()) plugin_dirs.insert(plugin_dirs.begin(), o.backend_directory);
  backends.SetPluginDirectories(std::move(plugin_dirs));

  core::InferenceService service({common::MonotonicClock::Get(), o.strict_readiness});

  LoadOptions lo;
  lo.repository = o.model_repository;
  lo.default_max_queue_size = o.max_queue_size;
  lo.backends = &backends;
  lo.metrics = &sm;
  lo.worker_idle_spin = o.worker_spin;
  lo.inline_max_execute = o.inline_max_execute;
  lo.cpu_count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Before any backend plugin (and the BLAS under it) is loaded.
  if (std::string blas = common::PrepareOpenBlasCoreType(); !blas.empty()) {
    spdlog::info("{}", blas);
  }
  std::string admin_token;
  if (o.model_control_trust_loopback && !o.model_control_explicit) {
    return absl::InvalidArgumentError(
        "--model-control-trust-loopback needs --model-control-mode explicit");
  }
  if (o.model_control_explicit && o.model_control_trust_loopback && o.admin_token_file.empty() &&
      absl::StripAsciiWhitespace(o.admin_token_env).empty()) {
    spdlog::info(
        "model control: no admin token; only gRPC callers on 127.0.0.1 / ::1 may load and "
        "unload (--model-control-trust-loopback)");
  } else if (o.model_control_explicit) {
    auto t = ReadAdminToken(o.admin_token_file,
                            o.admin_token_env.empty() ? nullptr : o.admin_token_env.c_str());
    if (!t.ok()) return t.status();
    admin_token = *std::move(t);
  } else if (!o.admin_token_file.empty() || !o.load_models.empty()) {
    spdlog::warn(
        "--admin-token-file and --load-model only apply with --model-control-mode explicit");
  }
  spdlog::info("loading models from {}", o.model_repository);
  std::vector<std::string> not_loaded;
  auto watcher = std::make_unique<SignalsWhileLoading>();
  auto loaded = o.model_control_explicit ? LoadRepository(lo, &o.load_models, &not_loaded)
                                         : LoadRepository(lo);
  watcher.reset();
  if (!loaded.ok()) return loaded.status();
  for (const std::string& w : loaded->warnings) spdlog::warn("{}", w);
  for (const core::ModelState& f : loaded->failed) {
    spdlog::error("model '{}'{} failed to load: {}", f.name,
                  f.version.empty() ? "" : absl::StrCat(" version ", f.version), f.reason);
  }
  if (o.exit_on_error && !loaded->failed.empty()) {
    service.SetModels(std::move(loaded->loaded), {});
    service.Shutdown();
    return absl::FailedPreconditionError(
        absl::StrCat(loaded->failed.size(), " model(s) failed to load and --exit-on-error is set"));
  }
  if (loaded->loaded.empty() && loaded->failed.empty()) {
    spdlog::warn(
        "the model repository {} holds no models (a model is a folder with a config.pbtxt)",
        o.model_repository);
  }
  service.SetModels(std::move(loaded->loaded), std::move(loaded->failed));
  AddServeGpuMetrics(&registry, &service, o.nvml_library);

  ModelControlService::Options co;
  co.enabled = o.model_control_explicit;
  co.token = admin_token;
  co.trust_loopback = o.model_control_trust_loopback;
  co.service = &service;
  co.load = lo;
  co.requests = sm.model_control;
  auto control = ModelControlService::Create(std::move(co));
  if (!control.ok()) {
    service.Shutdown();
    return control.status();
  }
  if (o.model_control_explicit) {
    spdlog::info("model control: explicit ({} model(s) loaded at startup, {} not loaded)",
                 service.Models().size(), not_loaded.size());
  }

  http::V2Handlers v2({&service, "tide", kVersion, o.max_body_bytes, control->get()});
  http::HttpServer::Options ho;
  ho.host = o.host;
  ho.port = static_cast<uint16_t>(o.http_port);
  ho.threads = o.http_threads;
  ho.max_body_bytes = o.max_body_bytes;
  ho.max_header_bytes = o.max_header_bytes;
  ho.max_connections = o.max_connections;
  CapConnectionsByDescriptors(&ho);
  ho.read_timeout = o.read_timeout;
  ho.max_connection_age = o.max_connection_age;
  ho.name = "http";
  // Health checks are answered even over the connection cap (a flood of idle
  // connections must not fail a healthy pod's liveness probe).
  ho.reserved_paths = {"/v2/health/live", "/v2/health/ready"};
  // One counter per status code, looked up once (not per response).
  auto by_code = std::make_shared<std::array<std::atomic<metrics::Counter*>, 600>>();
  auto count_response = [&sm, by_code](int status) {
    metrics::Counter* c = nullptr;
    if (status >= 0 && status < 600) c = (*by_code)[status].load(std::memory_order_acquire);
    if (c == nullptr) {
      c = sm.http_responses->WithLabels({absl::StrCat(status)});
      if (status >= 0 && status < 600) (*by_code)[status].store(c, std::memory_order_release);
    }
    c->Increment();
  };
  ho.on_response = count_response;
  ho.on_timeout =
      [timeouts = std::array<metrics::Counter*, 4>{
           sm.http_timeouts->WithLabels({"idle"}), sm.http_timeouts->WithLabels({"read"}),
           sm.http_timeouts->WithLabels({"write"}),
           sm.http_timeouts->WithLabels({"age"})}](http::HttpServer::Options::Timeout t) {
        timeouts[static_cast<int>(t)]->Increment();
      };
  ho.on_accept_error = [c = sm.http_accept_errors->NoLabels()] { c->Increment(); };
  ho.handler = [&v2](http::HttpRequest req, http::Responder respond) {
    v2.Handle(std::move(req), std::move(respond));
  };
  auto http_server = http::HttpServer::Create(std::move(ho));
  if (!http_server.ok()) {
    service.Shutdown();
    return http_server.status();
  }

  http::HttpServer::Options mo;
  mo.host = o.host;
  mo.port = static_cast<uint16_t>(o.metrics_port);
  mo.threads = 1;
  mo.max_body_bytes = 1 << 16;
  mo.max_connections = 64;
  mo.read_timeout = o.read_timeout;
  mo.name = "metrics";
  mo.reserved_paths = {"/metrics", "/v2/health/live", "/v2/health/ready"};
  mo.handler = [&registry, &v2](http::HttpRequest req, http::Responder respond) {
    // Health on the metrics port too: probes pointed here are unaffected by
    // load or a connection flood on the inference port.
    if (req.path == "/v2/health/live" || req.path == "/v2/health/ready") {
      return v2.Handle(std::move(req), std::move(respond));
    }
    if (req.path != "/metrics") {
      return respond(http::ErrorResponse(
          404, "the metrics port serves /metrics, /v2/health/live and /v2/health/ready"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
      http::HttpResponse r = http::ErrorResponse(405, "use GET /metrics");
      r.headers.emplace_back("Allow", "GET, HEAD");
      return respond(std::move(r));
    }
    http::HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = registry.RenderText();
    respond(std::move(r));
  };
  auto metrics_server = http::HttpServer::Create(std::move(mo));
  if (!metrics_server.ok()) {
    (*http_server)->Stop();
    service.Shutdown();
    return metrics_server.status();
  }
  std::unique_ptr<grpcfe::GrpcServer> grpc_server;
  if (o.grpc_port >= 0) {
    grpcfe::GrpcServer::Options go;
    go.host = o.host;
    go.port = o.grpc_port;
    go.max_message_bytes = o.max_body_bytes;
    go.threads = o.grpc_threads;
    go.max_connection_age = o.max_connection_age;
    go.service = &service;
    go.server_name = "tide";
    go.server_version = kVersion;
    go.extensions = http::V2Handlers::Extensions();
    go.control = control->get();
    auto g = grpcfe::GrpcServer::Create(std::move(go));
    if (!g.ok()) {
      (*http_server)->Stop();
      (*metrics_server)->Stop();
      service.Shutdown();
      return g.status();
    }
    grpc_server = *std::move(g);
  }
  registry.AddCallback({metrics::names::kHttpConnections, "Open connections on the inference port.",
                        metrics::Type::kGauge, [s = http_server->get()] {
                          return static_cast<double>(s->connections());
                        }});

  int grpc_port = grpc_server ? grpc_server->port() : -1;
  std::printf(
      "{\"event\":\"listening\",\"http_port\":%d,\"grpc_port\":%d,\"metrics_port\":%d,\"pid\":%d}"
      "\n",
      (*http_server)->port(), grpc_port, (*metrics_server)->port(), static_cast<int>(getpid()));
  std::fflush(stdout);
  spdlog::info("serving: HTTP on {}:{}, gRPC {}, metrics on {}:{}/metrics; ready={}", o.host,
               (*http_server)->port(),
               grpc_server ? absl::StrCat("on ", o.host, ":", grpc_port) : std::string("off"),
               o.host, (*metrics_server)->port(), service.IsReady());

  int sig = WaitForSignal(absl::InfiniteDuration());
  absl::Time start = absl::Now();
  // From now on every HTTP response closes its connection: keep-alive clients
  // reconnect (to other replicas, once the endpoint is gone) instead of
  // sending into a connection that is about to close. This comes before
  // readiness turns false, so a client that has seen readiness false gets
  // Connection: close on every later response.
  (*http_server)->BeginDrain();
  service.SetNotReady();
  spdlog::info(
      "received {}: readiness is now false; accepting requests for {} more (--drain-delay)",
      sig == SIGINT ? "SIGINT" : "SIGTERM", absl::FormatDuration(o.drain_delay));
  if (o.drain_delay > absl::ZeroDuration() && WaitForSignal(o.drain_delay) != 0) {
    spdlog::warn("second signal: ending the drain delay early");
  }
  service.RefuseNewRequests();
  spdlog::info("refusing new requests; finishing {} in flight", service.InFlight());
  const absl::Time end = start + o.shutdown_timeout;
  // A load or unload under way finishes (an unload waits for the model's
  // requests); later ones are refused.
  if (!(*control)->Stop(end)) {
    spdlog::error(
        "--shutdown-timeout ({}) passed with a model load or unload still under way ({} "
        "request(s) unfinished)",
        absl::FormatDuration(o.shutdown_timeout), service.InFlight());
    std::fflush(nullptr);
    _exit(1);  // a backend may be stuck: do not wait for it
  }
  if (!service.WaitIdle(std::max(end - absl::Now(), absl::ZeroDuration()))) {
    spdlog::error("--shutdown-timeout ({}) passed with {} request(s) unfinished",
                  absl::FormatDuration(o.shutdown_timeout), service.InFlight());
    std::fflush(nullptr);
    _exit(1);  // workers may be stuck in a backend: do not wait for them
  }
  // Let the last responses leave, answer (503) what clients still send on
  // open connections, close idle ones and the listener, then stop.
  if (grpc_server) grpc_server->Shutdown(absl::Seconds(2));
  // Connections idle for 500 ms with no request begun are closed: a client
  // that connected just before cannot be that slow to send its request.
  if (!(*http_server)->Shutdown(absl::Seconds(3), absl::Milliseconds(500))) {
    spdlog::warn("some HTTP responses were still being written when the server stopped");
  }
  (*metrics_server)->Stop();
  service.Shutdown();
  spdlog::info("drained in {}; exiting", absl::FormatDuration(absl::Now() - start));
  return 0;
}

}  // namespace tide::server
