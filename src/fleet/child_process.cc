#include "fleet/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace tide::fleet {

namespace {

// A line longer than this is handed out in pieces rather than buffered forever.
constexpr size_t kMaxLineBytes = 64 * 1024;

// What the child reports through the close-on-exec pipe when it cannot exec.
struct ChildFailure {
  enum Step : int { kPrctl = 1, kChdir = 2, kExec = 3 };
  int step = 0;
  int err = 0;
};

std::string ErrnoText(int err) { return std::strerror(err); }

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Milliseconds for poll(): rounded up, -1 for an infinite timeout.
int PollMillis(std::chrono::steady_clock::time_point deadline, bool infinite) {
  if (infinite) return -1;
  auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// Now + timeout on the monotonic clock these waits use (poll's timeouts).
std::chrono::steady_clock::time_point Deadline(absl::Duration timeout) {
  auto now = std::chrono::steady_clock::now();
  if (timeout == absl::InfiniteDuration() || timeout <= absl::ZeroDuration()) return now;
  // Capped far out so that adding it cannot overflow.
  return now + std::chrono::ceil<std::chrono::steady_clock::duration>(
                   absl::ToChronoNanoseconds(std::min(timeout, absl::Hours(24 * 365))));
}

// argv[0] as a path: itself if it names one, else the first executable match in PATH.
absl::StatusOr<std::string> ResolveProgram(const std::string& program, const std::string& path) {
  if (program.find('/') != std::string::npos) return program;
  for (const std::string& dir : std::vector<std::string>(absl::StrSplit(path, ':'))) {
    std::string candidate = absl::StrCat(dir.empty() ? std::string(".") : dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("cannot run '", program, "': not found in PATH"));
}

// The parent's environment with `env` added, as "K=V" strings.
std::vector<std::string> BuildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : env) replaced = replaced || k == key;
    if (!replaced) out.emplace_back(entry);
  }
  for (const auto& [k, v] : env) out.push_back(absl::StrCat(k, "=", v));
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void RunChild(pid_t parent, int stdin_fd, int stdout_fd, int stderr_fd, int report_fd,
                           const char* working_dir, const char* program, char* const* argv,
                           char* const* envp) {
  auto fail = [report_fd](int step) {
    ChildFailure failure{step, errno};
    ssize_t ignored = write(report_fd, &failure, sizeof(failure));
    (void)ignored;
    _exit(127);
  };
  setpgid(0, 0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(ChildFailure::kPrctl);
  // The parent may have died before prctl: then no death signal will come.
  if (getppid() != parent) _exit(127);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) sigaction(s, &dfl, nullptr);  // fails harmlessly for some
  // dup2 onto itself (a parent started with 0-2 closed) would keep close-on-exec.
  const int from[3] = {stdin_fd, stdout_fd, stderr_fd};
  for (int to = 0; to < 3; ++to) {
    if (from[to] == to) {
      fcntl(to, F_SETFD, 0);
    } else {
      dup2(from[to], to);
    }
  }
  if (working_dir != nullptr && chdir(working_dir) != 0) fail(ChildFailure::kChdir);
  execve(program, argv, envp);
  fail(ChildFailure::kExec);
  _exit(127);  // not reached
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (kind == Kind::kExited) {
    if (code < 0) return "exit status lost (reaped elsewhere)";
    return absl::StrCat("exited with code ", code);
  }
  const char* abbrev = sigabbrev_np(signal);
  return absl::StrCat("killed by signal ", signal,
                      abbrev ? absl::StrCat(" (SIG", abbrev, ")") : "");
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(Options options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return absl::InvalidArgumentError("ChildProcess: argv is empty");
  }
  std::string path_var;
  for (const auto& [k, v] : options.env) {
    if (k == "PATH") path_var = v;
  }
  if (path_var.empty() && getenv("PATH") != nullptr) path_var = getenv("PATH");
  auto program = ResolveProgram(options.argv[0], path_var);
  if (!program.ok()) return program.status();
  std::vector<std::string> env = BuildEnvironment(options.env);
  std::vector<char*> argv_c = CStrings(options.argv);
  std::vector<char*> envp_c = CStrings(env);

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->log_path_ = options.log_path;
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return absl::InternalError("cannot open /dev/null: " + ErrnoText(errno));
  if (!options.log_path.empty()) {
    child->log_fd_ =
        open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (child->log_fd_ < 0) {
      int err = errno;
      close(devnull);
      return absl::InternalError(
          absl::StrCat("cannot open log file ", options.log_path, ": ", ErrnoText(err)));
    }
  }
  int out[2];
  int report[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    int err = errno;
    close(devnull);
    return absl::InternalError("pipe: " + ErrnoText(err));
  }
  if (pipe2(report, O_CLOEXEC) != 0) {
    int err = errno;
    close(devnull);
    close(out[0]);
    close(out[1]);
    return absl::InternalError("pipe: " + ErrnoText(err));
  }
  const pid_t parent = getpid();
  const char* working_dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
  int stderr_fd = child->log_fd_ >= 0 ? child->log_fd_ : devnull;

  pid_t pid = fork();
  if (pid == 0) {
    RunChild(parent, devnull, out[1], stderr_fd, report[1], working_dir, program->c_str(),
             argv_c.data(), envp_c.data());
  }
  int fork_errno = errno;
  close(devnull);
  close(out[1]);
  close(report[1]);
  if (pid < 0) {
    close(out[0]);
    close(report[0]);
    return absl::InternalError("fork: " + ErrnoText(fork_errno));
  }
  // Also here, so the group exists whichever of parent and child runs first
  // (EACCES once the child has exec'd: it did it itself then).
  setpgid(pid, pid);
  child->pid_ = pid;
  child->out_fd_ = out[0];
  fcntl(child->out_fd_, F_SETFL, fcntl(child->out_fd_, F_GETFL) | O_NONBLOCK);
  child->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

  ChildFailure failure;
  size_t got = 0;
  while (got < sizeof(failure)) {
    ssize_t n = read(report[0], reinterpret_cast<char*>(&failure) + got, sizeof(failure) - got);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(report[0]);
  if (got == 0) return child;  // exec succeeded: the pipe closed on exec

  child->Kill();  // reaps it
  const std::string what = options.argv[0];
  switch (failure.step) {
    case ChildFailure::kChdir:
      return absl::NotFoundError(absl::StrCat("cannot enter working directory ",
                                              options.working_dir, ": ", ErrnoText(failure.err)));
    case ChildFailure::kExec:
      if (failure.err == ENOENT) {
        return absl::NotFoundError(absl::StrCat("cannot run ", what, ": ", ErrnoText(failure.err)));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("cannot run ", what, ": ", ErrnoText(failure.err)));
    default:
      return absl::InternalError(
          absl::StrCat("starting ", what, ": prctl(PR_SET_PDEATHSIG): ", ErrnoText(failure.err)));
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_.has_value()) Kill();
  CloseFd(pidfd_);
  CloseFd(out_fd_);
  CloseFd(log_fd_);
}

absl::Status ChildProcess::Signal(int sig) {
  if (exit_.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("process ", pid_, " has exited"));
  }
  if (kill(-pid_, sig) != 0) {
    return absl::InternalError(absl::StrCat("kill(-", pid_, ", ", sig, "): ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

std::optional<ExitStatus> ChildProcess::Reap(bool block) {
  if (exit_.has_value()) return exit_;
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  const int flags = WEXITED | WNOWAIT | (block ? 0 : WNOHANG);
  int r;
  do {
    r = waitid(P_PID, static_cast<id_t>(pid_), &info, flags);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    spdlog::error("waitid({}): {}; its exit status is lost", pid_, ErrnoText(errno));
    exit_ = ExitStatus::Exited(-1);
    kill(-pid_, SIGKILL);
    return exit_;
  }
  if (info.si_pid == 0) return std::nullopt;  // still running
  // The leader has exited but is not reaped yet, so its group id cannot have
  // been reused: this kills only what it left behind.
  kill(-pid_, SIGKILL);
  int status = 0;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r == pid_ && WIFSIGNALED(status)) {
    exit_ = ExitStatus::Signalled(WTERMSIG(status));
  } else if (r == pid_) {
    exit_ = ExitStatus::Exited(WEXITSTATUS(status));
  } else {
    exit_ = ExitStatus::Exited(-1);
  }
  CloseFd(pidfd_);
  if (forwarding_) ReadPipe();  // what it wrote before exiting
  return exit_;
}

std::optional<ExitStatus> ChildProcess::Poll() {
  if (forwarding_) ReadPipe();
  return Reap(false);
}

std::optional<ExitStatus> ChildProcess::Wait(absl::Duration timeout) {
  const bool infinite = timeout == absl::InfiniteDuration();
  const auto deadline = Deadline(timeout);
  for (;;) {
    if (auto status = Poll()) return status;
    int ms = PollMillis(deadline, infinite);
    if (ms == 0) return std::nullopt;
    if (pidfd_ < 0) {
      // No pidfd (old kernel or a sandbox): look again every few milliseconds.
      if (ms < 0 || ms > 5) ms = 5;
      poll(nullptr, 0, ms);
      continue;
    }
    pollfd fds[2] = {{pidfd_, POLLIN, 0}, {out_fd_, POLLIN, 0}};
    // While forwarding, keep the pipe drained so the child never blocks on it.
    const nfds_t n = forwarding_ && !stdout_eof_ && out_fd_ >= 0 ? 2 : 1;
    poll(fds, n, ms);
  }
}

ExitStatus ChildProcess::Kill() {
  if (!exit_.has_value()) kill(-pid_, SIGKILL);
  return *Reap(true);
}

void ChildProcess::ReadPipe() {
  if (out_fd_ < 0 || stdout_eof_) return;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out_fd_, buf, sizeof(buf));
    if (n > 0) {
      if (forwarding_) {
        AppendToLog(std::string_view(buf, static_cast<size_t>(n)));
      } else {
        partial_.append(buf, static_cast<size_t>(n));
      }
      continue;
    }
    if (n == 0) {
      stdout_eof_ = true;
    } else if (errno == EINTR) {
      continue;
    }
    break;  // EOF or EAGAIN
  }
  if (!forwarding_) SplitLines();
}

void ChildProcess::SplitLines() {
  size_t start = 0;
  for (;;) {
    size_t nl = partial_.find('\n', start);
    if (nl == std::string::npos) break;
    lines_.push_back(partial_.substr(start, nl - start));
    start = nl + 1;
  }
  partial_.erase(0, start);
  while (partial_.size() > kMaxLineBytes) {
    lines_.push_back(partial_.substr(0, kMaxLineBytes));
    partial_.erase(0, kMaxLineBytes);
  }
}

void ChildProcess::AppendToLog(std::string_view data) {
  while (log_fd_ >= 0 && !data.empty()) {
    ssize_t n = write(log_fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

absl::StatusOr<std::string> ChildProcess::ReadLine(absl::Duration timeout) {
  if (forwarding_) {
    return absl::FailedPreconditionError("stdout is forwarded to the log; no lines to read");
  }
  const bool infinite = timeout == absl::InfiniteDuration();
  const auto deadline = Deadline(timeout);
  for (;;) {
    ReadPipe();
    if (!lines_.empty()) {
      std::string line = std::move(lines_.front());
      lines_.pop_front();
      return line;
    }
    if (stdout_eof_ && !partial_.empty()) {  // a last line without '\n'
      std::string line = std::move(partial_);
      partial_.clear();
      return line;
    }
    if (stdout_eof_) {
      return absl::OutOfRangeError(absl::StrCat("stdout of process ", pid_, " is closed"));
    }
    int ms = PollMillis(deadline, infinite);
    if (ms == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line from process ", pid_, " within ", absl::FormatDuration(timeout)));
    }
    pollfd p{out_fd_, POLLIN, 0};
    poll(&p, 1, ms);
  }
}

void ChildProcess::ForwardStdoutToLog() {
  if (forwarding_) return;
  forwarding_ = true;
  for (const std::string& line : lines_) {
    AppendToLog(line);
    AppendToLog("\n");
  }
  lines_.clear();
  AppendToLog(partial_);
  partial_.clear();
}

}  // namespace tide::fleet
