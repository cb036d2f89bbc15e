#pragma once

// A child process run the way a pod's container is: in its own process group
// (so a signal reaches everything it started), killed by the kernel if the
// process that spawned it dies (PR_SET_PDEATHSIG, even on SIGKILL), its stdout
// read line by line by the parent and its stderr appended to a log file.
//
// Ownership: a ChildProcess owns its process group. When the leader (the
// process spawned) exits, whatever it left behind in its group is SIGKILLed
// before the leader is reaped, as Kubernetes tears down a container when its
// main process ends; the destructor SIGKILLs the group and reaps the leader.
// Nothing is left behind either way.
//
// Threads: one thread at a time may use an object (thread-compatible).
// PR_SET_PDEATHSIG fires when the *thread* that spawned the child exits, not
// only the process: spawn from a thread that outlives the child.
//
// The owner must not reap the child elsewhere (waitpid(-1), SIGCHLD set to
// SIG_IGN): the exit status would be lost.

#include <sys/types.h>

#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tide::fleet {

// How a process ended: exit(code) or a signal, as waitpid reports it.
struct ExitStatus {
  enum class Kind { kExited, kSignalled };
  Kind kind = Kind::kExited;
  int code = 0;    // kExited: the exit code (0-255)
  int signal = 0;  // kSignalled: the signal number

  static ExitStatus Exited(int code) { return {Kind::kExited, code, 0}; }
  static ExitStatus Signalled(int signo) { return {Kind::kSignalled, 0, signo}; }
  bool exited() const { return kind == Kind::kExited; }
  bool signalled() const { return kind == Kind::kSignalled; }
  // "exited with code 3", "killed by signal 9 (SIGKILL)".
  std::string ToString() const;

  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
  friend std::ostream& operator<<(std::ostream& os, const ExitStatus& s) {
    return os << s.ToString();
  }
};

class ChildProcess {
 public:
  struct Options {
    // argv[0] is the program: a path, or a name looked up in PATH (in the
    // parent, before forking).
    std::vector<std::string> argv;
    // Added to (or replacing) the parent's environment.
    std::vector<std::pair<std::string, std::string>> env;
    // The child's working directory; empty: the parent's.
    std::string working_dir;
    // stderr, and stdout after ForwardStdoutToLog(), are appended here
    // (created if missing). Empty: discarded (/dev/null).
    std::string log_path;
  };

  // Forks and execs. Returns once the exec has succeeded (the child reports a
  // failed chdir or exec through a close-on-exec pipe): InvalidArgument for
  // an empty argv, NotFound for a program that does not exist or a working
  // directory that cannot be entered, FailedPrecondition for a program that
  // cannot be run, Internal for a failed pipe/fork/open. The child starts with
  // stdin on /dev/null, an empty signal mask and default signal dispositions.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(Options options);

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  // Sends `sig` to the child's process group. FailedPrecondition once the
  // child has been reaped (its group was killed then), Internal if kill fails.
  absl::Status Signal(int sig);

  // Reaps the child if it has exited, without blocking. The exit status once
  // it has (the same value on every later call), nullopt while it runs.
  std::optional<ExitStatus> Poll();
  // Like Poll(), waiting up to `timeout` for the exit.
  std::optional<ExitStatus> Wait(absl::Duration timeout);
  // SIGKILLs the group and reaps the child (blocks until it has exited).
  ExitStatus Kill();

  // Returns the next line the child wrote to stdout (without '\n'), waiting
  // up to `timeout` (zero: only what is already there): DeadlineExceeded on
  // timeout, OutOfRange once stdout is closed and no line is left (a last
  // line without '\n' is returned first), FailedPrecondition after
  // ForwardStdoutToLog(). A line is cut at 64 KiB.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);
  // From now on stdout is appended to the log file, starting with what was
  // read but not yet returned. Poll() and Wait() move it there, so a child
  // that keeps writing never blocks on a full pipe as long as they are called.
  void ForwardStdoutToLog();

 private:
  ChildProcess() = default;
  // Reads the pipe without blocking, into lines_ or the log.
  void ReadPipe();
  void SplitLines();
  void AppendToLog(std::string_view data);
  std::optional<ExitStatus> Reap(bool block);

  pid_t pid_ = -1;
  int pidfd_ = -1;   // -1 where pidfd_open is unavailable: Wait polls
  int out_fd_ = -1;  // read end of the stdout pipe, non-blocking
  int log_fd_ = -1;  // the log file (O_APPEND), or -1 when discarded
  std::string log_path_;
  bool stdout_eof_ = false;
  bool forwarding_ = false;
  std::string partial_;             // stdout read, not yet a complete line
  std::deque<std::string> lines_;   // complete lines not yet returned
  std::optional<ExitStatus> exit_;  // set once reaped
};

}  // namespace tide::fleet
