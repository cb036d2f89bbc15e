#include "fleet/child_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

namespace fs = std::filesystem;

// A temporary directory removed on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tide_fleet_test_XXXXXX";
    path_ = fs::canonical(mkdtemp(tmpl)).string();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// No such process, or a zombie that only its (new) parent can reap: the
// reparented grandchildren of these tests go to a PID 1 that may not reap.
bool Gone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close == std::string::npos || (close + 2 < stat.size() && stat[close + 2] == 'Z');
}

// "ESRCH" if kill(pid, 0) says there is no such process (a reaped child).
std::string NoSuchProcess(pid_t pid) {
  if (kill(pid, 0) == 0) return "still exists";
  return errno == ESRCH ? "ESRCH" : std::strerror(errno);
}

// Polls Gone(pid) for up to `timeout`.
bool GoneWithin(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!Gone(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::unique_ptr<ChildProcess> Sh(const std::string& script, const std::string& log_path = "") {
  ChildProcess::Options o;
  o.argv = {"/bin/sh", "-c", script};
  o.log_path = log_path;
  auto child = ChildProcess::Spawn(std::move(o));
  EXPECT_TRUE(child.ok()) << child.status();
  return child.ok() ? *std::move(child) : nullptr;
}

pid_t ParsePid(const absl::StatusOr<std::string>& line) {
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? static_cast<pid_t>(std::atoi(line->c_str())) : -1;
}

TEST(ExitStatus, ToString) {
  EXPECT_EQ(ExitStatus::Exited(0).ToString(), "exited with code 0");
  EXPECT_EQ(ExitStatus::Exited(3).ToString(), "exited with code 3");
  EXPECT_EQ(ExitStatus::Signalled(SIGKILL).ToString(), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(ExitStatus::Signalled(SIGTERM).ToString(), "killed by signal 15 (SIGTERM)");
}

TEST(ChildProcess, ReportsExitCode) {
  auto child = Sh("exit 3");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->Wait(absl::Seconds(10)), ExitStatus::Exited(3));
  EXPECT_EQ(child->Poll(), ExitStatus::Exited(3));  // the same value again
  EXPECT_EQ(child->Signal(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ChildProcess, ReportsTerminatingSignal) {
  auto child = Sh("kill -USR1 $$");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->Wait(absl::Seconds(10)), ExitStatus::Signalled(SIGUSR1));
}

TEST(ChildProcess, WaitTimesOutThenKillReaps) {
  auto child = Sh("trap '' TERM; echo ready; exec sleep 1000");
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->ReadLine(absl::Seconds(10)).value_or("?"), "ready");
  ASSERT_TRUE(child->Signal(SIGTERM).ok());
  EXPECT_EQ(child->Wait(absl::Milliseconds(100)), std::nullopt);  // SIGTERM is ignored
  EXPECT_EQ(child->Poll(), std::nullopt);
  pid_t pid = child->pid();
  EXPECT_EQ(child->Kill(), ExitStatus::Signalled(SIGKILL));
  EXPECT_EQ(NoSuchProcess(pid), "ESRCH");
}

// The child does not inherit the parent's blocked or ignored signals: a
// server that blocks SIGTERM to sigwait it must not pass that on.
TEST(ChildProcess, StartsWithDefaultSignalHandling) {
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old_mask), 0);
  struct sigaction ignore {
  }, old_usr2{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGUSR2, &ignore, &old_usr2), 0);
  ChildProcess::Options o;
  o.argv = {"sleep", "1000"};  // looked up in PATH
  auto a = ChildProcess::Spawn(o);
  auto b = ChildProcess::Spawn(o);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGUSR2, &old_usr2, nullptr);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE((*a)->Signal(SIGTERM).ok());
  ASSERT_TRUE((*b)->Signal(SIGUSR2).ok());
  EXPECT_EQ((*a)->Wait(absl::Seconds(10)), ExitStatus::Signalled(SIGTERM));
  EXPECT_EQ((*b)->Wait(absl::Seconds(10)), ExitStatus::Signalled(SIGUSR2));
}

TEST(ChildProcess, ReadsStdoutLinesThenForwardsThemToTheLog) {
  TempDir dir;
  const std::string log = dir.File("child.log");
  auto child = Sh("echo first; echo oops >&2; echo second; printf tail", log);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->ReadLine(absl::Seconds(10)).value_or("?"), "first");
  child->ForwardStdoutToLog();
  EXPECT_EQ(child->ReadLine(absl::ZeroDuration()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(child->Wait(absl::Seconds(10)), ExitStatus::Exited(0));
  // stderr went straight to the file; the stdout after "first" followed it.
  EXPECT_EQ(ReadFile(log), "oops\nsecond\ntail");
}

// A last line without '\n' stays as it was written when it is forwarded,
// even when the child has exited before (the pipe is at EOF).
TEST(ChildProcess, ForwardsAnUnterminatedLastLineAsWritten) {
  TempDir dir;
  const std::string log = dir.File("child.log");
  auto child = Sh("printf 'first\\nlast'", log);
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->Wait(absl::Seconds(10)), ExitStatus::Exited(0));
  EXPECT_EQ(child->ReadLine(absl::Seconds(10)).value_or("?"), "first");
  child->ForwardStdoutToLog();
  EXPECT_EQ(child->Poll(), ExitStatus::Exited(0));
  EXPECT_EQ(ReadFile(log), "last");
}

TEST(ChildProcess, LogFileIsAppended) {
  TempDir dir;
  const std::string log = dir.File("child.log");
  for (const char* word : {"one", "two"}) {
    auto child = Sh(std::string("echo ") + word + " >&2", log);
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->Wait(absl::Seconds(10)), ExitStatus::Exited(0));
  }
  EXPECT_EQ(ReadFile(log), "one\ntwo\n");
}

TEST(ChildProcess, ReadLineTimesOutAndReportsEndOfOutput) {
  auto quiet = Sh("exec sleep 1000");
  ASSERT_NE(quiet, nullptr);
  EXPECT_EQ(quiet->ReadLine(absl::ZeroDuration()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(quiet->ReadLine(absl::Milliseconds(30)).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  auto talker = Sh("printf 'a\\nb'");
  ASSERT_NE(talker, nullptr);
  EXPECT_EQ(talker->ReadLine(absl::Seconds(10)).value_or("?"), "a");
  EXPECT_EQ(talker->ReadLine(absl::Seconds(10)).value_or("?"), "b");  // no '\n': at EOF
  EXPECT_EQ(talker->ReadLine(absl::Seconds(10)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(talker->Wait(absl::Seconds(10)), ExitStatus::Exited(0));
}

TEST(ChildProcess, AddsEnvironmentAndEntersWorkingDirectory) {
  TempDir dir;
  ChildProcess::Options o;
  o.argv = {"/bin/sh", "-c", "echo \"$TIDE_FLEET_A $TIDE_FLEET_B $(pwd -P)\""};
  o.env = {{"TIDE_FLEET_A", "alpha"}, {"TIDE_FLEET_B", "beta gamma"}};
  o.working_dir = dir.path();
  auto child = ChildProcess::Spawn(std::move(o));
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ((*child)->ReadLine(absl::Seconds(10)).value_or("?"), "alpha beta gamma " + dir.path());
  EXPECT_EQ((*child)->Wait(absl::Seconds(10)), ExitStatus::Exited(0));
}

TEST(ChildProcess, SpawnErrorsSayWhatIsWrong) {
  TempDir dir;
  struct Case {
    std::vector<std::string> argv;
    std::string working_dir;
    std::string log_path;
    absl::StatusCode code;
    std::string message;
  };
  std::ofstream(dir.File("not_executable")) << "#!/bin/sh\n";
  const std::vector<Case> cases = {
      {{}, "", "", absl::StatusCode::kInvalidArgument, "ChildProcess: argv is empty"},
      {{"/nonexistent/prog"},
       "",
       "",
       absl::StatusCode::kNotFound,
       "cannot run /nonexistent/prog: No such file or directory"},
      {{"tide-no-such-program"},
       "",
       "",
       absl::StatusCode::kNotFound,
       "cannot run 'tide-no-such-program': not found in PATH"},
      {{dir.File("not_executable")},
       "",
       "",
       absl::StatusCode::kFailedPrecondition,
       "cannot run " + dir.File("not_executable") + ": Permission denied"},
      {{"/bin/true"},
       "/nonexistent/dir",
       "",
       absl::StatusCode::kNotFound,
       "cannot enter working directory /nonexistent/dir: No such file or directory"},
      {{"/bin/true"},
       "",
       "/nonexistent/dir/x.log",
       absl::StatusCode::kInternal,
       "cannot open log file /nonexistent/dir/x.log: No such file or directory"},
  };
  for (const Case& c : cases) {
    ChildProcess::Options o;
    o.argv = c.argv;
    o.working_dir = c.working_dir;
    o.log_path = c.log_path;
    auto child = ChildProcess::Spawn(std::move(o));
    EXPECT_EQ(child.status().code(), c.code) << c.message;
    EXPECT_EQ(child.status().message(), c.message);
  }
}

TEST(ChildProcess, GroupKillReachesGrandchildren) {
  auto child = Sh("sleep 1000 & echo $!; wait");
  ASSERT_NE(child, nullptr);
  pid_t grandchild = ParsePid(child->ReadLine(absl::Seconds(10)));
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(Gone(grandchild));
  ASSERT_TRUE(child->Signal(SIGKILL).ok());
  EXPECT_EQ(child->Wait(absl::Seconds(10)), ExitStatus::Signalled(SIGKILL));
  EXPECT_TRUE(GoneWithin(grandchild, std::chrono::seconds(5)));
}

// As when a container's main process exits: what it left behind is killed.
TEST(ChildProcess, LeaderExitKillsWhatItLeftBehind) {
  auto child = Sh("sleep 1000 & echo $!");
  ASSERT_NE(child, nullptr);
  pid_t grandchild = ParsePid(child->ReadLine(absl::Seconds(10)));
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(child->Wait(absl::Seconds(10)), ExitStatus::Exited(0));
  EXPECT_TRUE(GoneWithin(grandchild, std::chrono::seconds(5)));
}

TEST(ChildProcess, DestructorKillsAndReaps) {
  auto child = Sh("sleep 1000 & echo $!; wait");
  ASSERT_NE(child, nullptr);
  pid_t grandchild = ParsePid(child->ReadLine(absl::Seconds(10)));
  pid_t pid = child->pid();
  child.reset();
  EXPECT_EQ(NoSuchProcess(pid), "ESRCH");  // reaped, not a zombie
  EXPECT_TRUE(GoneWithin(grandchild, std::chrono::seconds(5)));
}

// PR_SET_PDEATHSIG: an intermediate process starts `sleep 1000` and is then
// SIGKILLed (no destructor runs); the kernel must kill the sleep.
TEST(ChildProcess, DiesWhenItsParentIsKilled) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t intermediate = fork();
  ASSERT_GE(intermediate, 0);
  if (intermediate == 0) {
    close(fds[0]);
    ChildProcess::Options o;
    o.argv = {"/bin/sleep", "1000"};
    auto child = ChildProcess::Spawn(std::move(o));
    pid_t pid = child.ok() ? (*child)->pid() : -1;
    if (write(fds[1], &pid, sizeof(pid)) != sizeof(pid)) _exit(1);
    for (;;) pause();
  }
  close(fds[1]);
  pid_t grandchild = -1;
  pollfd p{fds[0], POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1);
  ASSERT_EQ(read(fds[0], &grandchild, sizeof(grandchild)),
            static_cast<ssize_t>(sizeof(grandchild)));
  close(fds[0]);
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(Gone(grandchild));
  ASSERT_EQ(kill(intermediate, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(intermediate, &status, 0), intermediate);
  EXPECT_TRUE(GoneWithin(grandchild, std::chrono::seconds(2)));
  if (!Gone(grandchild)) kill(grandchild, SIGKILL);  // don't leak it when failing
}

}  // namespace
}  // namespace tide::fleet
