// The replica supervisor against the real `tide serve` (and, for the paths a
// healthy tide never takes, small shell scripts standing in for it).

#include "fleet/replica_supervisor.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/clock.h"
#include "fleet/health_probe.h"
#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tide_supervisor_test_XXXXXX";
    path_ = fs::canonical(mkdtemp(tmpl)).string();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& content, bool executable = false) {
    fs::create_directories(fs::path(File(name)).parent_path());
    std::ofstream(File(name)) << content;
    if (executable) chmod(File(name).c_str(), 0755);
  }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A simulated model that needs no libtorch (as in serve_lifecycle_test).
std::string SleepModel(const std::string& name) {
  return "name: \"" + name +
         "\"\nbackend: \"simulated\"\nmax_batch_size: 0\n"
         "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
         "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 1 ] }\n"
         "parameters { key: \"mode\" value { string_value: \"sleep\" } }\n"
         "parameters { key: \"compute_ms\" value { string_value: \"1\" } }\n";
}

// "ESRCH" once a pid is gone for good (reaped), else what kill(pid, 0) says.
std::string NoSuchProcess(pid_t pid) {
  if (kill(pid, 0) == 0) return "still exists";
  return errno == ESRCH ? "ESRCH" : std::strerror(errno);
}

// Records the callbacks as lines ("removing tide-serve-2", "stopped
// tide-serve-2 exited with code 0"), the events themselves and every pid seen.
struct Recorder {
  std::vector<std::string> lines;
  std::vector<ReplicaEvent> events;
  std::set<pid_t> pids;
  std::function<void(const ReplicaInfo&)> on_removing_extra;

  void Attach(ReplicaSupervisor::Options& o) {
    o.on_removing = [this](const ReplicaInfo& r) {
      lines.push_back("removing " + r.name);
      if (on_removing_extra) on_removing_extra(r);
    };
    o.on_event = [this](const ReplicaEvent& e) {
      std::string line = absl::StrCat(std::string(ReplicaEventName(e.type)), " ", e.replica.name);
      if (e.exit) absl::StrAppend(&line, " ", e.exit->ToString());
      lines.push_back(line);
      events.push_back(e);
      if (e.replica.pid > 0) pids.insert(e.replica.pid);
    };
  }
  // The lines from index `from` on.
  std::vector<std::string> Since(size_t from) const {
    return std::vector<std::string>(lines.begin() + static_cast<long>(from), lines.end());
  }
};

class ReplicaSupervisorTest : public ::testing::Test {
 protected:
  ReplicaSupervisorTest() {
    dir_.Write("models/sim/config.pbtxt", SleepModel("sim"));
    fs::create_directories(dir_.File("models/sim/1"));
  }

  // Options for real tide replicas: fast probes, short grace, no drain delay.
  ReplicaSupervisor::Options TideOptions() {
    ReplicaSupervisor::Options o;
    o.tide_binary = TIDE_BINARY;
    o.serve_args = {"--model-repository", dir_.File("models"),
                    "--drain-delay",      "0",
                    "--shutdown-timeout", "5",
                    "--http-threads",     "1"};
    o.log_dir = dir_.File("logs");
    o.termination_grace_period = absl::Seconds(10);
    o.startup_timeout = absl::Seconds(30);
    o.probe_period = absl::Milliseconds(20);
    o.restart_backoff = absl::ZeroDuration();
    o.clock = common::MonotonicClock::Get();
    recorder_.Attach(o);
    return o;
  }

  // Ticks (on the real clock) until `done` holds, for at most `timeout`.
  bool TickUntil(ReplicaSupervisor& s, const std::function<bool()>& done,
                 absl::Duration timeout = absl::Seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
    for (;;) {
      s.RunOnce();
      if (done()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  static bool AllReady(const ReplicaSupervisor& s, size_t n) {
    auto replicas = s.Replicas();
    if (replicas.size() != n) return false;
    for (const auto& r : replicas) {
      if (r.state != ReplicaState::kReady) return false;
    }
    return true;
  }

  std::string Logs() {
    std::string out;
    for (const auto& e : fs::directory_iterator(dir_.File("logs"))) {
      absl::StrAppend(&out, "--- ", e.path().filename().string(), "\n",
                      ReadFile(e.path().string()));
    }
    return out;
  }

  // After Shutdown: no replica left, every pid ever seen reaped.
  void ExpectNothingLeft(ReplicaSupervisor& s) {
    s.Shutdown();
    EXPECT_TRUE(s.Replicas().empty());
    ASSERT_FALSE(recorder_.pids.empty());
    for (pid_t pid : recorder_.pids) EXPECT_EQ(NoSuchProcess(pid), "ESRCH") << "pid " << pid;
  }

  TempDir dir_;
  Recorder recorder_;
};

TEST_F(ReplicaSupervisorTest, ScalesFromZeroToTwoReadyReplicas) {
  auto s = ReplicaSupervisor::Create(TideOptions());
  ASSERT_TRUE(s.ok()) << s.status();
  ReplicaSupervisor& sup = **s;
  EXPECT_TRUE(sup.Replicas().empty());
  sup.RunOnce();
  EXPECT_TRUE(recorder_.lines.empty());  // desired is 0 until told
  ASSERT_TRUE(sup.SetDesired(2).ok());
  EXPECT_EQ(sup.desired(), 2);
  ASSERT_TRUE(TickUntil(sup, [&] { return AllReady(sup, 2); })) << Logs();

  auto replicas = sup.Replicas();
  ASSERT_EQ(replicas.size(), 2u);
  std::set<int> ports;
  for (int i = 0; i < 2; ++i) {
    const ReplicaInfo& r = replicas[i];
    EXPECT_EQ(r.name, absl::StrCat("tide-serve-", i + 1));
    EXPECT_EQ(r.ordinal, i + 1);
    EXPECT_GT(r.pid, 0);
    EXPECT_GT(r.http_port, 0);
    EXPECT_GT(r.metrics_port, 0);
    EXPECT_EQ(r.grpc_port, -1);
    EXPECT_EQ(r.restart_count, 0);
    EXPECT_EQ(r.last_exit, std::nullopt);
    ASSERT_TRUE(r.ready_time.has_value());
    EXPECT_LE(r.start_time, *r.ready_time);
    EXPECT_EQ(r.log_path, dir_.File("logs/" + r.name + ".log"));
    ports.insert(r.http_port);
    ports.insert(r.metrics_port);
    EXPECT_EQ(HttpGetStatus(r.http_port, "/v2/health/ready", absl::Seconds(5)).value_or(0), 200);
    EXPECT_EQ(HttpGetStatus(r.http_port, "/v2/models/sim/ready", absl::Seconds(5)).value_or(0),
              200);
  }
  EXPECT_EQ(ports.size(), 4u) << "every port distinct";
  EXPECT_NE(replicas[0].pid, replicas[1].pid);
  // Both started in the first Tick, then each became ready.
  ASSERT_EQ(recorder_.lines.size(), 4u);
  EXPECT_EQ(recorder_.lines[0], "started tide-serve-1");
  EXPECT_EQ(recorder_.lines[1], "started tide-serve-2");
  EXPECT_EQ(std::set<std::string>(recorder_.lines.begin() + 2, recorder_.lines.end()),
            (std::set<std::string>{"ready tide-serve-1", "ready tide-serve-2"}));

  size_t before = recorder_.lines.size();
  ExpectNothingLeft(sup);
  EXPECT_EQ(recorder_.Since(before),
            (std::vector<std::string>{"removing tide-serve-1", "stopping tide-serve-1",
                                      "removing tide-serve-2", "stopping tide-serve-2",
                                      "stopped tide-serve-1 exited with code 0",
                                      "stopped tide-serve-2 exited with code 0"}))
      << Logs();
  EXPECT_EQ(sup.SetDesired(1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReplicaSupervisorTest, ScaleDownRemovesTheNewestAfterTakingItOutOfRotation) {
  std::vector<std::string> seen_in_on_removing;
  recorder_.on_removing_extra = [&](const ReplicaInfo& r) {
    // Not signalled yet: still alive and still ready.
    seen_in_on_removing.push_back(absl::StrCat(
        r.name, " ", std::string(ReplicaStateName(r.state)), " alive=", kill(r.pid, 0) == 0,
        " ready=", HttpGetStatus(r.http_port, "/v2/health/ready", absl::Seconds(5)).value_or(0)));
  };
  auto s = ReplicaSupervisor::Create(TideOptions());
  ASSERT_TRUE(s.ok()) << s.status();
  ReplicaSupervisor& sup = **s;
  ASSERT_TRUE(sup.SetDesired(2).ok());
  ASSERT_TRUE(TickUntil(sup, [&] { return AllReady(sup, 2); })) << Logs();
  const ReplicaInfo first = sup.Replicas()[0];
  const ReplicaInfo second = sup.Replicas()[1];

  size_t before = recorder_.lines.size();
  ASSERT_TRUE(sup.SetDesired(1).ok());
  ASSERT_TRUE(TickUntil(sup, [&] { return sup.Replicas().size() == 1; })) << Logs();
  EXPECT_EQ(recorder_.Since(before),
            (std::vector<std::string>{"removing tide-serve-2", "stopping tide-serve-2",
                                      "stopped tide-serve-2 exited with code 0"}));
  EXPECT_EQ(seen_in_on_removing,
            (std::vector<std::string>{"tide-serve-2 Ready alive=1 ready=200"}));
  EXPECT_EQ(recorder_.events.back().exit, ExitStatus::Exited(0));
  EXPECT_EQ(recorder_.events.back().replica.pid, second.pid);
  EXPECT_EQ(NoSuchProcess(second.pid), "ESRCH");
  // tide's drain went to the replica's log.
  EXPECT_NE(ReadFile(second.log_path).find("received SIGTERM"), std::string::npos)
      << ReadFile(second.log_path);

  auto left = sup.Replicas();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].name, "tide-serve-1");
  EXPECT_EQ(left[0].pid, first.pid);
  EXPECT_EQ(left[0].state, ReplicaState::kReady);
  ExpectNothingLeft(sup);
}

TEST_F(ReplicaSupervisorTest, KilledReplicaIsReportedAndReplaced) {
  auto s = ReplicaSupervisor::Create(TideOptions());
  ASSERT_TRUE(s.ok()) << s.status();
  ReplicaSupervisor& sup = **s;
  ASSERT_TRUE(sup.SetDesired(1).ok());
  ASSERT_TRUE(TickUntil(sup, [&] { return AllReady(sup, 1); })) << Logs();
  const ReplicaInfo before_kill = sup.Replicas()[0];

  size_t before = recorder_.lines.size();
  ASSERT_EQ(kill(before_kill.pid, SIGKILL), 0);
  ASSERT_TRUE(TickUntil(sup, [&] {
    return AllReady(sup, 1) && sup.Replicas()[0].restart_count == 1;
  })) << Logs();
  EXPECT_EQ(recorder_.Since(before),
            (std::vector<std::string>{"died tide-serve-1 killed by signal 9 (SIGKILL)",
                                      "started tide-serve-1", "ready tide-serve-1"}));
  const ReplicaEvent& died = recorder_.events[recorder_.events.size() - 3];
  EXPECT_EQ(died.exit, ExitStatus::Signalled(SIGKILL));
  EXPECT_EQ(died.replica.pid, before_kill.pid);
  EXPECT_EQ(died.replica.state, ReplicaState::kFailed);

  const ReplicaInfo now = sup.Replicas()[0];
  EXPECT_EQ(now.name, "tide-serve-1");
  EXPECT_NE(now.pid, before_kill.pid);
  EXPECT_GT(now.http_port, 0);
  EXPECT_EQ(now.restart_count, 1);
  EXPECT_EQ(now.last_exit, ExitStatus::Signalled(SIGKILL));
  EXPECT_EQ(HttpGetStatus(now.http_port, "/v2/health/ready", absl::Seconds(5)).value_or(0), 200);
  ExpectNothingLeft(sup);
}

// A stand-in for tide that prints a listening line (on a port nobody
// listens on: never ready) and ignores SIGTERM. Time is driven by hand.
TEST_F(ReplicaSupervisorTest, SigkillsAReplicaThatOutlivesItsGracePeriod) {
  dir_.Write("stubborn.sh",
             "#!/bin/sh\ntrap '' TERM\n"
             "echo '{\"event\":\"listening\",\"http_port\":1,\"grpc_port\":-1,"
             "\"metrics_port\":1,\"pid\":'$$'}'\nexec sleep 1000\n",
             true);
  const absl::Time t0 = absl::UnixEpoch() + absl::Hours(1);
  common::ManualClock clock(t0);
  ReplicaSupervisor::Options o = TideOptions();
  o.tide_binary = dir_.File("stubborn.sh");
  o.clock = &clock;
  o.termination_grace_period = absl::Seconds(10);
  auto s = ReplicaSupervisor::Create(o);
  ASSERT_TRUE(s.ok()) << s.status();
  ReplicaSupervisor& sup = **s;
  ASSERT_TRUE(sup.SetDesired(1).ok());
  // Its listening line is read (so its trap is set) while the time stands still.
  ASSERT_TRUE(TickUntil(sup, [&] { return sup.Replicas()[0].http_port == 1; }))
      << "the listening line was not read";
  const pid_t pid = sup.Replicas()[0].pid;
  EXPECT_EQ(sup.Replicas()[0].state, ReplicaState::kStarting);

  ASSERT_TRUE(sup.SetDesired(0).ok());
  clock.Set(t0 + absl::Seconds(1));
  sup.RunOnce();
  EXPECT_EQ(sup.Replicas()[0].state, ReplicaState::kTerminating);
  clock.Set(t0 + absl::Seconds(11) - absl::Nanoseconds(1));
  sup.RunOnce();
  EXPECT_EQ(kill(pid, 0), 0) << "SIGTERM is ignored";
  EXPECT_EQ(recorder_.lines,
            (std::vector<std::string>{"started tide-serve-1", "removing tide-serve-1",
                                      "stopping tide-serve-1"}));
  clock.Set(t0 + absl::Seconds(11));
  sup.RunOnce();
  // The same pass may already reap the killed process (it did under ASan,
  // where "stopped ..." came last): the kill is the line after "stopping".
  ASSERT_GE(recorder_.lines.size(), 4u);
  EXPECT_EQ(recorder_.lines[3], "killed tide-serve-1");
  ASSERT_TRUE(TickUntil(sup, [&] { return sup.Replicas().empty(); }));
  EXPECT_EQ(recorder_.lines,
            (std::vector<std::string>{"started tide-serve-1", "removing tide-serve-1",
                                      "stopping tide-serve-1", "killed tide-serve-1",
                                      "stopped tide-serve-1 killed by signal 9 (SIGKILL)"}));
  EXPECT_EQ(NoSuchProcess(pid), "ESRCH");
}

// A stand-in that never prints its listening line: killed after the startup
// timeout and restarted after a back-off that doubles.
TEST_F(ReplicaSupervisorTest, StartupTimeoutKillsAndRestartsWithBackoff) {
  dir_.Write("silent.sh", "#!/bin/sh\nexec sleep 1000\n", true);
  common::ManualClock clock;
  ReplicaSupervisor::Options o = TideOptions();
  o.tide_binary = dir_.File("silent.sh");
  o.clock = &clock;
  o.startup_timeout = absl::Seconds(5);
  o.restart_backoff = absl::Seconds(2);
  auto s = ReplicaSupervisor::Create(o);
  ASSERT_TRUE(s.ok()) << s.status();
  ReplicaSupervisor& sup = **s;
  const absl::Time t0 = absl::UnixEpoch() + absl::Hours(1);
  ASSERT_TRUE(sup.SetDesired(1).ok());
  sup.Tick(t0);
  const pid_t first = sup.Replicas()[0].pid;
  sup.Tick(t0 + absl::Seconds(5) - absl::Nanoseconds(1));
  EXPECT_EQ(sup.Replicas()[0].state, ReplicaState::kStarting);
  sup.Tick(t0 + absl::Seconds(5));
  ReplicaInfo r = sup.Replicas()[0];
  EXPECT_EQ(r.state, ReplicaState::kFailed);
  EXPECT_EQ(r.pid, -1);
  EXPECT_EQ(r.last_exit, ExitStatus::Signalled(SIGKILL));
  EXPECT_EQ(recorder_.events.back().message, "no listening line within 5s; killed");
  EXPECT_EQ(NoSuchProcess(first), "ESRCH");

  sup.Tick(t0 + absl::Seconds(7) - absl::Nanoseconds(1));  // back-off: 2s
  EXPECT_EQ(sup.Replicas()[0].state, ReplicaState::kFailed);
  sup.Tick(t0 + absl::Seconds(7));
  r = sup.Replicas()[0];
  EXPECT_EQ(r.state, ReplicaState::kStarting);
  EXPECT_EQ(r.restart_count, 1);
  EXPECT_EQ(r.start_time, t0 + absl::Seconds(7));
  EXPECT_NE(r.pid, first);

  sup.Tick(t0 + absl::Seconds(12));                         // second death
  sup.Tick(t0 + absl::Seconds(16) - absl::Nanoseconds(1));  // back-off: 4s
  EXPECT_EQ(sup.Replicas()[0].state, ReplicaState::kFailed);
  sup.Tick(t0 + absl::Seconds(16));
  EXPECT_EQ(sup.Replicas()[0].state, ReplicaState::kStarting);
  EXPECT_EQ(sup.Replicas()[0].restart_count, 2);
  EXPECT_EQ(recorder_.lines,
            (std::vector<std::string>{
                "started tide-serve-1", "died tide-serve-1 killed by signal 9 (SIGKILL)",
                "started tide-serve-1", "died tide-serve-1 killed by signal 9 (SIGKILL)",
                "started tide-serve-1"}));
  ExpectNothingLeft(sup);
}

TEST_F(ReplicaSupervisorTest, SpawnFailureIsReportedAndRetried) {
  dir_.Write("vanishing.sh", "#!/bin/sh\nexec sleep 1000\n", true);
  common::ManualClock clock;
  ReplicaSupervisor::Options o = TideOptions();
  o.tide_binary = dir_.File("vanishing.sh");
  o.clock = &clock;
  o.restart_backoff = absl::Seconds(1);
  auto s = ReplicaSupervisor::Create(o);
  ASSERT_TRUE(s.ok()) << s.status();
  ReplicaSupervisor& sup = **s;
  fs::remove(dir_.File("vanishing.sh"));
  const absl::Time t0 = absl::UnixEpoch() + absl::Hours(1);
  ASSERT_TRUE(sup.SetDesired(1).ok());
  sup.Tick(t0);
  ASSERT_EQ(sup.Replicas().size(), 1u);
  EXPECT_EQ(sup.Replicas()[0].state, ReplicaState::kFailed);
  EXPECT_EQ(recorder_.lines, (std::vector<std::string>{"spawn_failed tide-serve-1"}));
  EXPECT_EQ(recorder_.events.back().message,
            "NOT_FOUND: cannot run " + dir_.File("vanishing.sh") + ": No such file or directory");
  sup.Tick(t0 + absl::Seconds(1));
  EXPECT_EQ(recorder_.lines.back(), "spawn_failed tide-serve-1");
  EXPECT_EQ(sup.Replicas()[0].restart_count, 1);
  // Scaling to zero removes a replica that has no process at once.
  ASSERT_TRUE(sup.SetDesired(0).ok());
  sup.Tick(t0 + absl::Seconds(2));
  EXPECT_TRUE(sup.Replicas().empty());
  EXPECT_EQ(recorder_.Since(2),
            (std::vector<std::string>{"removing tide-serve-1", "stopped tide-serve-1"}));
}

TEST_F(ReplicaSupervisorTest, CreateRejectsBadOptions) {
  struct Case {
    std::function<void(ReplicaSupervisor::Options&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& o) { o.tide_binary = "/nonexistent/tide"; },
       "tide_binary: '/nonexistent/tide' is not an executable file"},
      {[](auto& o) { o.clock = nullptr; }, "clock: missing"},
      {[](auto& o) {
         o.serve_args = {"--http-port", "8000"};
       },
       "serve_args: --http-port is set by the supervisor"},
      {[](auto& o) { o.serve_args = {"--host=0.0.0.0"}; },
       "serve_args: --host is set by the supervisor"},
      {[](auto& o) { o.name_prefix = ""; }, "name_prefix: empty"},
      {[](auto& o) { o.startup_timeout = absl::ZeroDuration(); },
       "startup_timeout: must be positive"},
      {[](auto& o) { o.probe_period = absl::ZeroDuration(); }, "probe_period: must be positive"},
      {[](auto& o) { o.probe_timeout = -absl::Seconds(1); }, "probe_timeout: must be positive"},
      {[](auto& o) { o.termination_grace_period = -absl::Seconds(1); },
       "termination_grace_period: must not be negative"},
      {[](auto& o) { o.restart_backoff = absl::Minutes(10); },
       "restart_backoff: must not be negative nor above max_restart_backoff"},
      {[](auto& o) { o.failure_threshold = 0; }, "failure_threshold: must be at least 1"},
  };
  for (const Case& c : cases) {
    ReplicaSupervisor::Options o = TideOptions();
    c.change(o);
    auto s = ReplicaSupervisor::Create(std::move(o));
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(s.status().message(), c.message);
  }
  auto s = ReplicaSupervisor::Create(TideOptions());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->SetDesired(-1).message(), "replicas: -1 is negative");
}

}  // namespace
}  // namespace tide::fleet
