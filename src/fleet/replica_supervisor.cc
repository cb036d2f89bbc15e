#include "fleet/replica_supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fleet/health_probe.h"
#include "spdlog/spdlog.h"

namespace tide::fleet {

namespace {

// The flags the supervisor sets on every replica.
constexpr const char* kOwnFlags[] = {"--http-port", "--grpc-port", "--metrics-port", "--host"};

}  // namespace

struct ReplicaSupervisor::Replica {
  ReplicaInfo info;
  std::unique_ptr<ChildProcess> process;           // null while Failed
  int starts = 0;                                  // processes started (or tried)
  int probe_failures = 0;                          // in a row
  int deaths = 0;                                  // in a row, before becoming Ready again
  absl::Time next_probe = absl::InfiniteFuture();  // set once it listens
  absl::Time restart_at = absl::InfiniteFuture();  // while Failed
  absl::Time kill_at = absl::InfiniteFuture();     // while Terminating
  bool killed = false;                             // SIGKILL sent
};

absl::StatusOr<std::unique_ptr<ReplicaSupervisor>> ReplicaSupervisor::Create(Options options) {
  if (options.tide_binary.empty() || access(options.tide_binary.c_str(), X_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tide_binary: '", options.tide_binary, "' is not an executable file"));
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock: missing");
  for (const std::string& arg : options.serve_args) {
    for (const char* flag : kOwnFlags) {
      if (arg == flag || absl::StartsWith(arg, absl::StrCat(flag, "="))) {
        return absl::InvalidArgumentError(
            absl::StrCat("serve_args: ", flag, " is set by the supervisor"));
      }
    }
  }
  if (options.name_prefix.empty()) return absl::InvalidArgumentError("name_prefix: empty");
  if (options.startup_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("startup_timeout: must be positive");
  }
  if (options.probe_period <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("probe_period: must be positive");
  }
  if (options.probe_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("probe_timeout: must be positive");
  }
  if (options.termination_grace_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("termination_grace_period: must not be negative");
  }
  if (options.restart_backoff < absl::ZeroDuration() ||
      options.max_restart_backoff < options.restart_backoff) {
    return absl::InvalidArgumentError(
        "restart_backoff: must not be negative nor above max_restart_backoff");
  }
  if (options.failure_threshold < 1) {
    return absl::InvalidArgumentError("failure_threshold: must be at least 1");
  }
  if (!options.log_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.log_dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("log_dir: cannot create ", options.log_dir, ": ", ec.message()));
    }
  }
  return std::unique_ptr<ReplicaSupervisor>(new ReplicaSupervisor(std::move(options)));
}

ReplicaSupervisor::ReplicaSupervisor(Options options)
    : options_(std::move(options)), clock_(options_.clock) {}

ReplicaSupervisor::~ReplicaSupervisor() { Shutdown(); }

absl::Status ReplicaSupervisor::SetDesired(int replicas) {
  if (replicas < 0) {
    return absl::InvalidArgumentError(absl::StrCat("replicas: ", replicas, " is negative"));
  }
  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::FailedPreconditionError("the replica supervisor is shut down");
  desired_ = replicas;
  return absl::OkStatus();
}

int ReplicaSupervisor::desired() const {
  absl::MutexLock lock(&mu_);
  return desired_;
}

std::vector<ReplicaInfo> ReplicaSupervisor::Replicas() const {
  absl::MutexLock lock(&mu_);
  return published_;
}

std::vector<std::string> ReplicaSupervisor::ServeArgv() const {
  std::vector<std::string> argv = {
      options_.tide_binary, "serve", "--http-port", "0",        "--grpc-port", "-1",
      "--metrics-port",     "0",     "--host",      "127.0.0.1"};
  argv.insert(argv.end(), options_.serve_args.begin(), options_.serve_args.end());
  return argv;
}

void ReplicaSupervisor::Emit(ReplicaEventType type, const Replica& r, absl::Time now,
                             std::optional<ExitStatus> exit, std::string message) {
  spdlog::debug("replica {} {}{}{}", r.info.name, ReplicaEventName(type),
                message.empty() ? "" : ": ", message);
  if (!options_.on_event) return;
  options_.on_event(ReplicaEvent{type, now, r.info, exit, std::move(message)});
}

void ReplicaSupervisor::Start(Replica& r, absl::Time now) {
  if (r.starts++ > 0) ++r.info.restart_count;
  r.info.pid = -1;
  r.info.http_port = 0;
  r.info.grpc_port = -1;
  r.info.metrics_port = 0;
  r.info.ready_time.reset();
  r.info.start_time = now;
  r.probe_failures = 0;
  r.next_probe = absl::InfiniteFuture();
  r.restart_at = absl::InfiniteFuture();
  ChildProcess::Options o;
  o.argv = ServeArgv();
  o.env = options_.env;
  o.log_path = r.info.log_path;
  auto child = ChildProcess::Spawn(std::move(o));
  if (!child.ok()) {
    r.info.state = ReplicaState::kFailed;
    ScheduleRestart(r, now);
    Emit(ReplicaEventType::kSpawnFailed, r, now, std::nullopt, child.status().ToString());
    return;
  }
  r.process = *std::move(child);
  r.info.pid = r.process->pid();
  r.info.state = ReplicaState::kStarting;
  Emit(ReplicaEventType::kStarted, r, now);
}

void ReplicaSupervisor::ScheduleRestart(Replica& r, absl::Time now) {
  ++r.deaths;
  absl::Duration backoff = options_.restart_backoff;
  for (int i = 1; i < r.deaths && backoff < options_.max_restart_backoff; ++i) backoff *= 2;
  r.restart_at = now + std::min(backoff, options_.max_restart_backoff);
}

void ReplicaSupervisor::MarkDead(Replica& r, ExitStatus exit, std::string message, absl::Time now) {
  r.process.reset();
  r.info.state = ReplicaState::kFailed;
  r.info.last_exit = exit;
  ScheduleRestart(r, now);
  Emit(ReplicaEventType::kDied, r, now, exit, std::move(message));  // with the dead pid and ports
  r.info.pid = -1;
  r.info.http_port = 0;
  r.info.grpc_port = -1;
  r.info.metrics_port = 0;
  r.info.ready_time.reset();
}

void ReplicaSupervisor::Probe(Replica& r, absl::Time now) {
  r.next_probe = now + options_.probe_period;
  auto status = HttpGetStatus(r.info.http_port, "/v2/health/ready", options_.probe_timeout);
  if (status.ok() && *status == 200) {
    r.probe_failures = 0;
    if (r.info.state != ReplicaState::kReady) {
      r.info.state = ReplicaState::kReady;
      r.info.ready_time = now;
      r.deaths = 0;
      Emit(ReplicaEventType::kReady, r, now);
    }
    return;
  }
  ++r.probe_failures;
  if (r.info.state == ReplicaState::kReady && r.probe_failures >= options_.failure_threshold) {
    r.info.state = ReplicaState::kNotReady;
    Emit(ReplicaEventType::kNotReady, r, now, std::nullopt,
         absl::StrCat("readiness probe failed ", r.probe_failures, " times in a row; last: ",
                      status.ok() ? absl::StrCat("HTTP ", *status) : status.status().ToString()));
  }
}

void ReplicaSupervisor::Observe(Replica& r, absl::Time now) {
  if (r.info.http_port == 0) {
    for (;;) {
      auto line = r.process->ReadLine(absl::ZeroDuration());
      if (!line.ok()) break;
      if (auto ports = ParseListeningLine(*line)) {
        r.info.http_port = ports->http_port;
        r.info.grpc_port = ports->grpc_port;
        r.info.metrics_port = ports->metrics_port;
        r.next_probe = now;
        r.process->ForwardStdoutToLog();
        break;
      }
      spdlog::debug("replica {}: stdout before its listening line: {}", r.info.name, *line);
    }
  }
  if (auto exit = r.process->Poll()) {
    if (r.info.state == ReplicaState::kTerminating) return;  // Tick removes it
    MarkDead(r, *exit, absl::StrCat("process ", r.info.pid, " ", exit->ToString()), now);
    return;
  }
  if (r.info.state == ReplicaState::kTerminating) {
    if (!r.killed && now >= r.kill_at) {
      r.killed = true;
      (void)r.process->Signal(SIGKILL);
      Emit(ReplicaEventType::kKilled, r, now, std::nullopt,
           absl::StrCat("still running ", absl::FormatDuration(options_.termination_grace_period),
                        " after SIGTERM"));
    }
    return;
  }
  if (r.info.http_port == 0) {
    if (now - r.info.start_time >= options_.startup_timeout) {
      ExitStatus exit = r.process->Kill();
      MarkDead(r, exit,
               absl::StrCat("no listening line within ",
                            absl::FormatDuration(options_.startup_timeout), "; killed"),
               now);
    }
    return;
  }
  if (now >= r.next_probe) Probe(r, now);
}

bool ReplicaSupervisor::BeginRemoval(Replica& r, absl::Time now) {
  if (options_.on_removing) options_.on_removing(r.info);
  if (r.process == nullptr) {
    Emit(ReplicaEventType::kStopped, r, now, std::nullopt, "removed while not running");
    return false;
  }
  r.info.state = ReplicaState::kTerminating;
  r.kill_at = now + options_.termination_grace_period;
  absl::Status sent = r.process->Signal(SIGTERM);
  Emit(ReplicaEventType::kStopping, r, now, std::nullopt,
       sent.ok() ? "SIGTERM sent" : sent.ToString());
  if (options_.termination_grace_period == absl::ZeroDuration()) {
    r.killed = true;
    (void)r.process->Signal(SIGKILL);
    Emit(ReplicaEventType::kKilled, r, now, std::nullopt, "no grace period");
  }
  return true;
}

void ReplicaSupervisor::Scale(int desired, absl::Time now) {
  std::vector<Replica*> active;
  for (auto& r : replicas_) {
    if (r->info.state != ReplicaState::kTerminating) active.push_back(r.get());
  }
  const int n = static_cast<int>(active.size());
  if (n > desired) {
    std::sort(active.begin(), active.end(),
              [](const Replica* a, const Replica* b) { return RemoveBefore(a->info, b->info); });
    std::vector<const Replica*> gone;
    for (int i = 0; i < n - desired; ++i) {
      if (!BeginRemoval(*active[i], now)) gone.push_back(active[i]);
    }
    std::erase_if(replicas_, [&](const std::unique_ptr<Replica>& r) {
      return std::find(gone.begin(), gone.end(), r.get()) != gone.end();
    });
    return;
  }
  for (int i = n; i < desired; ++i) {
    auto r = std::make_unique<Replica>();
    r->info.ordinal = next_ordinal_++;
    r->info.name = absl::StrCat(options_.name_prefix, "-", r->info.ordinal);
    if (!options_.log_dir.empty()) {
      r->info.log_path = absl::StrCat(options_.log_dir, "/", r->info.name, ".log");
    }
    replicas_.push_back(std::move(r));
    Start(*replicas_.back(), now);
  }
}

void ReplicaSupervisor::Tick(absl::Time now) {
  absl::MutexLock tick(&tick_mu_);
  int desired;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    desired = desired_;
  }
  for (auto& r : replicas_) {
    if (r->process != nullptr) Observe(*r, now);
  }
  // Removed replicas whose process has ended are gone.
  std::erase_if(replicas_, [&](const std::unique_ptr<Replica>& r) {
    if (r->info.state != ReplicaState::kTerminating) return false;
    std::optional<ExitStatus> exit = r->process->Poll();
    if (!exit) return false;
    r->info.last_exit = exit;
    Emit(ReplicaEventType::kStopped, *r, now, exit,
         absl::StrCat("process ", r->info.pid, " ", exit->ToString()));
    return true;
  });
  Scale(desired, now);
  for (auto& r : replicas_) {
    if (r->info.state == ReplicaState::kFailed && now >= r->restart_at) Start(*r, now);
  }
  Publish();
}

void ReplicaSupervisor::Shutdown() {
  absl::MutexLock tick(&tick_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    desired_ = 0;
  }
  const absl::Time start = clock_->Now();
  std::vector<std::unique_ptr<Replica>> draining;
  for (auto& r : replicas_) {
    if (r->info.state == ReplicaState::kTerminating || BeginRemoval(*r, start)) {
      draining.push_back(std::move(r));
    }
  }
  replicas_.clear();
  for (auto& r : draining) {
    absl::Duration left = std::clamp(r->kill_at - clock_->Now(), absl::ZeroDuration(),
                                     options_.termination_grace_period);
    std::optional<ExitStatus> exit = r->killed ? std::nullopt : r->process->Wait(left);
    absl::Time now = clock_->Now();
    if (!exit) {
      if (!r->killed) {
        r->killed = true;
        Emit(ReplicaEventType::kKilled, *r, now, std::nullopt,
             absl::StrCat("still running ", absl::FormatDuration(options_.termination_grace_period),
                          " after SIGTERM"));
      }
      exit = r->process->Kill();
    }
    r->info.last_exit = exit;
    Emit(ReplicaEventType::kStopped, *r, now, exit,
         absl::StrCat("process ", r->info.pid, " ", exit->ToString()));
  }
  Publish();
}

void ReplicaSupervisor::Publish() {
  std::vector<ReplicaInfo> infos;
  infos.reserve(replicas_.size());
  for (const auto& r : replicas_) infos.push_back(r->info);
  std::sort(infos.begin(), infos.end(),
            [](const ReplicaInfo& a, const ReplicaInfo& b) { return a.ordinal < b.ordinal; });
  absl::MutexLock lock(&mu_);
  published_ = std::move(infos);
}

}  // namespace tide::fleet
