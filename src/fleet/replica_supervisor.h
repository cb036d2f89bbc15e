#pragma once

// The ReplicaSet of `tide up`: keeps `desired` replicas of `tide serve`
// running on this machine as child processes, each treated like a pod.
//
// A replica is started as `tide serve --http-port 0 --grpc-port -1
// --metrics-port 0 --host 127.0.0.1 <serve_args>`, in its own process group,
// killed by the kernel if this process dies. Its ports come from the
// listening line it prints; it is Ready once its /v2/health/ready answers 200
// (probed every probe_period), NotReady after failure_threshold failed probes
// in a row. Scaling down removes replicas in a ReplicaSet's order (not serving
// before serving, then the newest; RemoveBefore in replica.h): on_removing
// first (the router takes it out of rotation), then SIGTERM, then SIGKILL if
// it has not exited after termination_grace_period. A replica whose process
// ends on its own is Failed, reported (kDied, with its exit status) and
// restarted under the same name after a back-off (restart_backoff, doubling
// for each death before it became Ready again, up to max_restart_backoff).
//
// All the work is done in Tick(now) (RunOnce() = Tick(clock->Now())), which
// never sleeps: a driver calls it every few tens of milliseconds; tests call
// it directly. Its only blocking call is the readiness probe (probe_timeout at
// most per replica due).
//
// Threads: Tick, RunOnce and Shutdown run one at a time (serialised), on a
// thread that outlives the replicas: PR_SET_PDEATHSIG kills a replica when the
// thread that started it exits. Callbacks run on that thread, inside Tick or
// Shutdown; they may call SetDesired, desired and Replicas, not Tick, RunOnce
// or Shutdown. SetDesired, desired and Replicas may be called from any thread.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "fleet/child_process.h"
#include "fleet/replica.h"

namespace tide::fleet {

class ReplicaSupervisor {
 public:
  struct Options {
    std::string tide_binary;  // the `tide` executable
    // Appended to the flags the supervisor sets (which they must not repeat),
    // e.g. {"--model-repository", dir}.
    std::vector<std::string> serve_args;
    std::vector<std::pair<std::string, std::string>> env;  // added to this process's environment
    // Each replica's stderr (and stdout after its listening line) is appended
    // to <log_dir>/<name>.log, across restarts; created if missing. Empty:
    // discarded.
    std::string log_dir;
    std::string name_prefix = "tide-serve";  // names are <name_prefix>-<ordinal>

    absl::Duration termination_grace_period = absl::Seconds(30);  // SIGTERM → SIGKILL
    // A process with no listening line this long after its start is killed
    // (kDied) and restarted.
    absl::Duration startup_timeout = absl::Seconds(60);
    absl::Duration probe_period = absl::Seconds(1);  // first probe as soon as it listens
    absl::Duration probe_timeout = absl::Seconds(1);
    int failure_threshold = 3;  // failed probes in a row: Ready → NotReady
    absl::Duration restart_backoff = absl::Seconds(1);
    absl::Duration max_restart_backoff = absl::Minutes(5);

    const common::Clock* clock = nullptr;  // not owned; only Now() is read (RunOnce, Shutdown)
    // Callbacks must stay valid until Shutdown() (the destructor calls it).
    // Called once per replica chosen for removal, before it is signalled.
    std::function<void(const ReplicaInfo&)> on_removing;
    // Every start, readiness change, stop and death, in order.
    std::function<void(const ReplicaEvent&)> on_event;
  };

  // InvalidArgument naming the field: a tide_binary that is not executable, no
  // clock, serve_args that set --http-port/--grpc-port/--metrics-port/--host,
  // a non-positive startup_timeout, probe_period or probe_timeout, a negative
  // grace period or back-off, failure_threshold < 1, an empty name_prefix.
  // Internal if log_dir cannot be created. Starts nothing (desired is 0).
  static absl::StatusOr<std::unique_ptr<ReplicaSupervisor>> Create(Options options);

  // Shutdown().
  ~ReplicaSupervisor();
  ReplicaSupervisor(const ReplicaSupervisor&) = delete;
  ReplicaSupervisor& operator=(const ReplicaSupervisor&) = delete;

  // The number of replicas to keep (Failed ones count, Terminating ones do
  // not), acted on by the next Tick. InvalidArgument if negative,
  // FailedPrecondition after Shutdown().
  absl::Status SetDesired(int replicas);
  int desired() const;

  // Every replica, Terminating and Failed ones included, as of the end of the
  // last Tick (or Shutdown), ordered by ordinal.
  std::vector<ReplicaInfo> Replicas() const;

  // One reconcile at `now`: reads listening lines, reaps exits, probes
  // readiness where due, escalates terminations past their grace period,
  // scales to `desired`, restarts Failed replicas whose back-off has passed.
  void Tick(absl::Time now);
  void RunOnce() { Tick(clock_->Now()); }

  // Removes every replica (on_removing, SIGTERM, up to the grace period,
  // SIGKILL) and waits until every process has been reaped. Blocks; the
  // grace period is measured on the clock, each wait lasting at most the
  // grace period. Afterwards Tick does nothing. Idempotent.
  void Shutdown();

 private:
  struct Replica;

  explicit ReplicaSupervisor(Options options);

  void Observe(Replica& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  void Probe(Replica& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  void Start(Replica& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  // Failed for the deaths-th time in a row: restart after the back-off.
  void ScheduleRestart(Replica& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  // Its process ended while not Terminating: Failed, restart scheduled.
  void MarkDead(Replica& r, ExitStatus exit, std::string message, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  // on_removing, then SIGTERM (or, if no process runs, gone at once). False
  // if the replica is gone.
  bool BeginRemoval(Replica& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  void Scale(int desired, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  void Emit(ReplicaEventType type, const Replica& r, absl::Time now,
            std::optional<ExitStatus> exit = std::nullopt, std::string message = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_);
  std::vector<std::string> ServeArgv() const;

  const Options options_;
  const common::Clock* const clock_;

  // Held through Tick and Shutdown: they run one at a time.
  absl::Mutex tick_mu_;
  std::vector<std::unique_ptr<Replica>> replicas_ ABSL_GUARDED_BY(tick_mu_);
  int next_ordinal_ ABSL_GUARDED_BY(tick_mu_) = 1;

  // Read from any thread.
  mutable absl::Mutex mu_;
  int desired_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<ReplicaInfo> published_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tide::fleet
