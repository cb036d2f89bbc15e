// `tide up` end to end: the real binary, real `tide serve` replicas, real
// sockets on port 0, short sync and scrape periods. The load comes from the
// test itself (fleet::DemoTraffic with constant segments) at a model that
// sleeps 20 ms per request (no CPU: the test machine's cores stay free), so a
// hundred or two requests per second saturate one replica.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "fleet/child_process.h"
#include "fleet/demo_traffic.h"
#include "fleet/health_probe.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tide {
namespace {

namespace fs = std::filesystem;
using fleet::ChildProcess;
using fleet::DemoTraffic;
using fleet::TrafficSegment;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tide_up_test_XXXXXX";
    path_ = fs::canonical(mkdtemp(tmpl)).string();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Write(const std::string& name, const std::string& content) {
    fs::create_directories(fs::path(File(name)).parent_path());
    std::ofstream(File(name)) << content;
  }

 private:
  std::string path_;
};

// The simulated model in sleep mode: 20 ms per request, one at a time.
constexpr char kModel[] =
    "name: \"simulated\"\nbackend: \"simulated\"\nmax_batch_size: 0\n"
    "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 1, 16 ] }\n"
    "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 1, 16 ] }\n"
    "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
    "parameters { key: \"mode\" value { string_value: \"sleep\" } }\n"
    "parameters { key: \"compute_ms\" value { string_value: \"20\" } }\n"
    "parameters { key: \"per_item_ms\" value { string_value: \"0\" } }\n";

std::string Hpa(int min, int max, const std::string& metrics, int down_window_s) {
  return absl::StrCat(
      "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: tide}\n"
      "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: tide}\n"
      "  minReplicas: ",
      min, "\n  maxReplicas: ", max, "\n  metrics:\n", metrics,
      "  behavior:\n    scaleUp:\n      stabilizationWindowSeconds: 0\n"
      "      policies: [{type: Pods, value: 4, periodSeconds: 1}]\n"
      "    scaleDown:\n      stabilizationWindowSeconds: ",
      down_window_s, "\n      policies: [{type: Pods, value: 1, periodSeconds: 1}]\n");
}

constexpr char kInFlightPods[] =
    "    - type: Pods\n      pods: {metric: {name: tide_inference_in_flight}, target: "
    "{type: AverageValue, averageValue: '4'}}\n";

// A running `tide up`, its stdout lines collected with the time each arrived.
class Up {
 public:
  Up(TempDir& dir, const std::string& hpa, std::vector<std::string> extra = {}) {
    dir.Write("models/simulated/config.pbtxt", kModel);
    fs::create_directories(dir.File("models/simulated/1"));
    dir.Write("hpa.yaml", hpa);
    ChildProcess::Options o;
    o.argv = {TIDE_BINARY,
              "up",
              "--model-repository",
              dir.File("models"),
              "--hpa",
              dir.File("hpa.yaml"),
              "--port",
              "0",
              "--metrics-port",
              "0",
              "--sync-period",
              "500ms",
              "--scrape-interval",
              "250ms",
              "--termination-grace-period",
              "10s",
              "--log-dir",
              dir.File("logs")};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    o.log_path = dir.File("up.log");
    auto p = ChildProcess::Spawn(std::move(o));
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return;
    process_ = std::move(*p);
    auto line = process_->ReadLine(absl::Seconds(20));
    EXPECT_TRUE(line.ok()) << line.status();
    if (!line.ok()) return;
    nlohmann::json j = nlohmann::json::parse(*line);
    EXPECT_EQ(j["event"], "listening");
    port_ = j["port"].get<int>();
    metrics_port_ = j["metrics_port"].get<int>();
    EXPECT_EQ(j["pid"].get<int>(), process_->pid());
    reader_ = std::thread([this] {
      for (;;) {
        auto l = process_->ReadLine(absl::Seconds(1));
        if (!l.ok()) {
          if (absl::IsDeadlineExceeded(l.status())) {
            absl::MutexLock lock(&mu_);
            if (!stop_) continue;
          }
          return;
        }
        absl::MutexLock lock(&mu_);
        lines_.emplace_back(absl::Now(), *l);
      }
    });
  }
  ~Up() {
    if (process_ && !process_->Poll()) {
      process_->Signal(SIGTERM).IgnoreError();
      process_->Wait(absl::Seconds(30));
    }
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    if (reader_.joinable()) reader_.join();
  }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  ChildProcess& process() { return *process_; }

  std::vector<std::pair<absl::Time, std::string>> Lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }
  // Waits until a line contains `text` (after `from` lines); its index, or -1.
  int AwaitLine(const std::string& text, absl::Duration timeout, size_t from = 0) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu_);
        for (size_t i = from; i < lines_.size(); ++i) {
          if (absl::StrContains(lines_[i].second, text)) return static_cast<int>(i);
        }
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return -1;
  }
  std::string Dump() {
    std::string s;
    for (auto& [t, l] : Lines()) absl::StrAppend(&s, l, "\n");
    return s;
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0, metrics_port_ = 0;
  std::thread reader_;
  absl::Mutex mu_;
  bool stop_ = false;
  std::vector<std::pair<absl::Time, std::string>> lines_;
};

std::unique_ptr<DemoTraffic> Load(int port, std::vector<TrafficSegment> shape, int workers = 32) {
  DemoTraffic::Options o;
  o.port = static_cast<uint16_t>(port);
  o.shape = std::move(shape);
  o.workers = workers;
  auto d = DemoTraffic::Start(std::move(o));
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? std::move(*d) : nullptr;
}

std::string Metrics(int port) {
  auto r = fleet::HttpGet(port, "/metrics", absl::Seconds(5));
  return r.ok() ? r->body : "";
}

// New size: N from "HPA: New size: N; reason: ..." lines, in order, with times.
std::vector<std::pair<absl::Time, int>> Rescales(Up& up) {
  std::vector<std::pair<absl::Time, int>> out;
  std::regex re("HPA: New size: ([0-9]+); reason: ");
  for (auto& [t, l] : up.Lines()) {
    std::smatch m;
    if (std::regex_search(l, m, re)) out.emplace_back(t, std::stoi(m[1]));
  }
  return out;
}

TEST(UpTest, ScalesUpOnTheMetricThenDownAfterStabilizationWithoutErrors) {
  TempDir dir;
  Up up(dir, Hpa(1, 4, kInFlightPods, 3));
  ASSERT_GT(up.port(), 0);
  ASSERT_GE(up.AwaitLine("tide-serve-1 ready", absl::Seconds(20)), 0) << up.Dump();

  // 250 req/s at 20 ms each: one replica answers 50/s, so in-flight climbs
  // far over the target of 4 per pod.
  auto load =
      Load(up.port(), {{"step", absl::Seconds(8), 250, 250}, {"low", absl::Seconds(14), 5, 5}});
  ASSERT_NE(load, nullptr);
  const absl::Time step_at = absl::Now();
  int up_line = up.AwaitLine(
      "New size: 4; reason: pods metric tide_inference_in_flight above target", absl::Seconds(8));
  ASSERT_GE(up_line, 0) << up.Dump();
  // Syncs are 500 ms apart; scrapes 250 ms; a replica ready in ~1 s. From the
  // step to the decision: within a few syncs (scale-up limit 4 pods/s).
  const absl::Duration to_scale_up = up.Lines()[up_line].first - step_at;
  EXPECT_LT(to_scale_up, absl::Seconds(4)) << to_scale_up;

  const absl::Time low_at = step_at + absl::Seconds(8);
  ASSERT_GE(up.AwaitLine("New size: 1; reason: All metrics below target", absl::Seconds(25)), 0)
      << up.Dump();
  load->Stop();
  auto stats = load->Stats();

  std::vector<std::pair<absl::Time, int>> rescales = Rescales(up);
  int downs = 0;
  std::optional<absl::Time> first_down;
  for (size_t i = 1; i < rescales.size(); ++i) {
    if (rescales[i].second < rescales[i - 1].second) {
      ++downs;
      if (!first_down) first_down = rescales[i].first;
    }
  }
  EXPECT_GE(downs, 3) << up.Dump();
  ASSERT_TRUE(first_down.has_value());
  // Not before the 3 s stabilization window has passed since the load fell
  // (minus one sync of slack for when the last high recommendation was made).
  EXPECT_GE(*first_down - low_at, absl::Milliseconds(2500)) << *first_down - low_at;
  EXPECT_EQ(stats.errors, 0u) << stats.error_samples.front();
  EXPECT_GT(stats.ok, 1500u);
  std::cerr << "scale-up decision " << to_scale_up << " after the step; first scale-down "
            << (*first_down - low_at) << " after the load fell; " << downs << " scale-downs, "
            << stats.ok << " requests answered, " << stats.errors << " errors\n";

  std::string m = Metrics(up.metrics_port());
  EXPECT_TRUE(absl::StrContains(m, "tide_fleet_replicas{state=\"desired\"} 1")) << m;
  EXPECT_TRUE(absl::StrContains(
      m,
      "tide_fleet_autoscaler_decisions_total{direction=\"up\",reason=\"pods metric "
      "tide_inference_in_flight above target\"}"))
      << m;
}

TEST(UpTest, KilledReplicaIsReplacedAndOnlyItsInFlightRequestsFail) {
  TempDir dir;
  Up up(dir, Hpa(2, 2, kInFlightPods, 3));
  ASSERT_GT(up.port(), 0);
  int started = up.AwaitLine("tide-serve-1 started: pid ", absl::Seconds(20));
  ASSERT_GE(started, 0) << up.Dump();
  ASSERT_GE(up.AwaitLine("tide-serve-2 ready", absl::Seconds(20)), 0) << up.Dump();
  ASSERT_GE(up.AwaitLine("tide-serve-1 ready", absl::Seconds(20)), 0) << up.Dump();
  std::string line = up.Lines()[started].second;
  pid_t victim = std::stoi(line.substr(line.find("pid ") + 4));

  // 60 req/s over two replicas: each has at most a few requests in flight.
  auto load = Load(up.port(), {{"steady", absl::Seconds(8), 60, 60}}, 16);
  absl::SleepFor(absl::Seconds(2));
  size_t before = up.Lines().size();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_GE(up.AwaitLine("tide-serve-1 died", absl::Seconds(5), before), 0) << up.Dump();
  ASSERT_GE(up.AwaitLine("tide-serve-1 ready", absl::Seconds(15), before), 0) << up.Dump();
  while (!load->Done()) absl::SleepFor(absl::Milliseconds(100));
  load->Stop();
  auto stats = load->Stats();
  // Only what was in flight on the killed replica can fail: with 20 ms per
  // request one at a time, its queue holds at most the 16 client workers.
  EXPECT_LE(stats.errors, 16u) << stats.error_samples.front();
  EXPECT_GT(stats.ok, 400u);
  std::cerr << "kill -9 under load: " << stats.errors << " of " << stats.sent
            << " requests failed\n";
}

TEST(UpTest, ScaleFromZeroHoldsTheFirstRequestAndAnswersIt) {
  TempDir dir;
  Up up(dir, Hpa(0, 2,
                 "    - type: External\n      external: {metric: {name: "
                 "tide_inference_in_flight}, target: {type: AverageValue, averageValue: '1'}}\n",
                 2));
  ASSERT_GT(up.port(), 0);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(up.AwaitLine("started", absl::Milliseconds(10)), -1) << up.Dump();
  fleet::KeepAliveClient client(static_cast<uint16_t>(up.port()));
  absl::Time t0 = absl::Now();
  std::string body;
  auto code = client.Post("/v2/models/simulated/infer", fleet::SimulatedInferBody(), &body);
  absl::Duration took = absl::Now() - t0;
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 200) << body;
  EXPECT_TRUE(absl::StrContains(body, "OUTPUT0")) << body;
  EXPECT_GE(up.AwaitLine("New size: 1; reason: external metric tide_inference_in_flight above "
                         "target",
                         absl::Seconds(1)),
            0)
      << up.Dump();
  std::cerr << "scale from zero: first request answered after " << took << "\n";
}

TEST(UpTest, SigkilledUpLeavesNoReplicaBehind) {
  TempDir dir;
  Up up(dir, Hpa(2, 2, kInFlightPods, 3));
  ASSERT_GT(up.port(), 0);
  ASSERT_GE(up.AwaitLine("tide-serve-2 ready", absl::Seconds(20)), 0) << up.Dump();
  std::vector<pid_t> pids;
  for (auto& [t, l] : up.Lines()) {
    size_t at = l.find("started: pid ");
    if (at != std::string::npos) pids.push_back(std::stoi(l.substr(at + 13)));
  }
  ASSERT_EQ(pids.size(), 2u) << up.Dump();
  ASSERT_EQ(kill(up.process().pid(), SIGKILL), 0);
  up.process().Wait(absl::Seconds(5));
  for (pid_t pid : pids) {
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    bool gone = false;
    while (absl::Now() < deadline && !gone) {
      std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
      std::string s;
      std::getline(stat, s);
      // Gone, or a zombie waiting for init to reap it: not running.
      gone = !stat || s.find(") Z ") != std::string::npos;
      if (!gone) absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_TRUE(gone) << "tide serve " << pid << " survived tide up";
  }
}

TEST(UpTest, RefusesAnInvalidHpaWithTheValidatorsFieldErrors) {
  TempDir dir;
  dir.Write("models/simulated/config.pbtxt", kModel);
  dir.Write("hpa.yaml", Hpa(3, 2, kInFlightPods, 3));
  ChildProcess::Options o;
  o.argv = {TIDE_BINARY,
            "up",
            "--model-repository",
            dir.File("models"),
            "--hpa",
            dir.File("hpa.yaml"),
            "--port",
            "0",
            "--metrics-port",
            "0"};
  o.log_path = dir.File("up.log");
  auto p = ChildProcess::Spawn(std::move(o));
  ASSERT_TRUE(p.ok());
  auto exit = (*p)->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, fleet::ExitStatus::Exited(2));
  std::ifstream in(dir.File("up.log"));
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(log,
                                "spec.maxReplicas: Invalid value: 2: must be greater than "
                                "or equal to `minReplicas`"))
      << log;
}

TEST(UpTest, RefusesAMetricTheFleetCannotProduce) {
  TempDir dir;
  dir.Write("models/simulated/config.pbtxt", kModel);
  dir.Write("hpa.yaml", Hpa(1, 2,
                            "    - type: Pods\n      pods: {metric: {name: packets_per_second}, "
                            "target: {type: AverageValue, averageValue: '1k'}}\n",
                            3));
  ChildProcess::Options o;
  o.argv = {TIDE_BINARY,
            "up",
            "--model-repository",
            dir.File("models"),
            "--hpa",
            dir.File("hpa.yaml"),
            "--port",
            "0",
            "--metrics-port",
            "0"};
  o.log_path = dir.File("up.log");
  auto p = ChildProcess::Spawn(std::move(o));
  ASSERT_TRUE(p.ok());
  auto exit = (*p)->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, fleet::ExitStatus::Exited(2));
  std::ifstream in(dir.File("up.log"));
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(log,
                                "spec.metrics[0].pods.metric.name: \"packets_per_second\": "
                                "the fleet's replicas do not export it"))
      << log;
}

}  // namespace
}  // namespace tide
