#pragma once

// What the replica supervisor says about its replicas (the pods of `tide up`):
// their states, the snapshot the router and the live view read, the events a
// report logs, and two pure pieces of its logic (the listening line, the
// scale-down order). No processes here.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "fleet/child_process.h"

namespace tide::fleet {

// A replica's life: Starting → Ready ⇄ NotReady → Terminating → gone. A
// process that ends on its own makes it Failed until it is restarted
// (Starting again, restart_count + 1).
enum class ReplicaState {
  kStarting,     // process started; no listening line yet, or not ready yet
  kReady,        // its /v2/health/ready answered 200: in rotation
  kNotReady,     // was ready, then its readiness probe failed: out of rotation
  kTerminating,  // chosen for removal: SIGTERM sent, SIGKILL after the grace period
  kFailed,       // its process ended unexpectedly (or never started); restart pending
};
// "Starting", "Ready", "NotReady", "Terminating", "Failed".
std::string_view ReplicaStateName(ReplicaState state);

struct ReplicaInfo {
  std::string name;      // "tide-serve-<ordinal>"; kept across restarts
  int ordinal = 0;       // 1, 2, ... in creation order, never reused
  pid_t pid = -1;        // the current process; -1 while Failed
  int http_port = 0;     // 0 until the listening line
  int grpc_port = -1;    // -1: gRPC off
  int metrics_port = 0;  // 0 until the listening line
  ReplicaState state = ReplicaState::kStarting;
  absl::Time start_time = absl::InfinitePast();  // when the current process was started
  std::optional<absl::Time> ready_time;          // when it last became Ready (this process)
  int restart_count = 0;                         // processes started after one died
  std::optional<ExitStatus> last_exit;           // how the previous process ended
  std::string log_path;                          // stderr (and later stdout) of every process
};

enum class ReplicaEventType {
  kStarted,      // a process was started (first start or restart)
  kSpawnFailed,  // its process could not be started (message says why)
  kReady,        // became Ready
  kNotReady,     // Ready → NotReady (readiness probe failing)
  kStopping,     // chosen for removal: SIGTERM sent
  kKilled,       // still running after the grace period: SIGKILL sent
  kStopped,      // a removed replica's process ended; the replica is gone
  kDied,         // a process ended unexpectedly (or was killed for not starting)
};
// "started", "spawn_failed", "ready", "not_ready", "stopping", "killed",
// "stopped", "died".
std::string_view ReplicaEventName(ReplicaEventType type);

struct ReplicaEvent {
  ReplicaEventType type = ReplicaEventType::kStarted;
  absl::Time time;      // the `now` of the Tick that saw it
  ReplicaInfo replica;  // as of the event; kDied/kStopped: the ended process's pid, ports
  std::optional<ExitStatus> exit;  // kStopped, kDied
  std::string message;             // human-readable detail, may be empty
};

// The ports `tide serve` prints on stdout once it listens:
// {"event":"listening","http_port":N,"grpc_port":N,"metrics_port":N,"pid":N}
struct ListeningPorts {
  int http_port = 0;
  int grpc_port = -1;
  int metrics_port = 0;
  int pid = 0;
  friend bool operator==(const ListeningPorts&, const ListeningPorts&) = default;
};
// The ports of a listening line (whitespace between tokens allowed); nullopt
// for any other line, or one with a port outside 1..65535 (-1 for gRPC) or
// without one of the four fields.
std::optional<ListeningPorts> ParseListeningLine(std::string_view line);

// The order in which a ReplicaSet removes pods when scaling down: true if `a`
// goes before `b`. Failed before Starting before NotReady before Ready (those
// not serving first), then the most recently started first, then the higher
// ordinal first (a total order for replicas with distinct ordinals).
bool RemoveBefore(const ReplicaInfo& a, const ReplicaInfo& b);

}  // namespace tide::fleet
