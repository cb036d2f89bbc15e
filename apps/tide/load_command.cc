#include "load_command.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "loadgen/report.h"
#include "loadgen/text.h"

namespace tide::apps {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void OnInterrupt(int) {
  g_interrupted.store(true);
  // A second Ctrl-C kills the process the ordinary way.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

absl::Status ParseShapes(const std::vector<std::string>& flags,
                         std::map<std::string, std::vector<int64_t>>* out) {
  for (const std::string& flag : flags) {
    const size_t colon = flag.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(loadgen::Cat("--shape '", flag, "': want NAME:d1,d2,..."));
    }
    std::vector<int64_t> dims;
    for (std::string_view d : loadgen::Split(std::string_view(flag).substr(colon + 1), ',')) {
      int64_t v;
      if (!loadgen::ParseInt(d, &v) || v < 0) {
        return absl::InvalidArgumentError(
            loadgen::Cat("--shape '", flag, "': dims must be integers >= 0"));
      }
      dims.push_back(v);
    }
    (*out)[flag.substr(0, colon)] = std::move(dims);
  }
  return absl::OkStatus();
}

void PrintProgress(const loadgen::LiveProgress& p) {
  if (p.level.empty()) return;
  const double rate = p.stats.elapsed_s > 0 ? p.stats.ok / p.stats.elapsed_s : 0;
  std::fprintf(stderr, "\r\033[K[%s] %6.1f s  sent %llu  ok %llu  %.1f/s  p99 %.3f ms  errors %llu",
               p.level.c_str(), p.stats.elapsed_s, static_cast<unsigned long long>(p.stats.sent),
               static_cast<unsigned long long>(p.stats.ok), rate, p.stats.p99_ns / 1e6,
               static_cast<unsigned long long>(p.stats.failed));
  std::fflush(stderr);
}

}  // namespace

int RunLoadCommand(const LoadCommandOptions& options) {
  // As tide serve does: Debian's Abseil checks every Mutex lock for deadlock
  // cycles (a lock graph per acquisition); gRPC's client takes several per call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  loadgen::LoadOptions load = options.load;
  if (absl::Status st = ParseShapes(options.shapes, &load.shapes); !st.ok()) {
    std::fprintf(stderr, "tide load: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  auto runner = loadgen::LoadRunner::Create(load);
  if (!runner.ok()) {
    std::fprintf(stderr, "tide load: %s\n", std::string(runner.status().message()).c_str());
    return 1;
  }
  g_interrupted.store(false);
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  const bool tty = isatty(STDERR_FILENO) == 1;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    auto last_print = std::chrono::steady_clock::now();
    bool stop_sent = false;
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (g_interrupted.load() && !stop_sent) {
        stop_sent = true;
        (*runner)->RequestStop();
      }
      if (tty && std::chrono::steady_clock::now() - last_print >= std::chrono::milliseconds(500)) {
        last_print = std::chrono::steady_clock::now();
        PrintProgress((*runner)->Live());
      }
    }
    if (tty) std::fprintf(stderr, "\r\033[K");
  });
  absl::StatusOr<loadgen::LoadReport> report = (*runner)->Run();
  done.store(true);
  watcher.join();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!report.ok()) {
    std::fprintf(stderr, "tide load: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  std::fputs(loadgen::FormatReport(*report).c_str(), stdout);
  std::fflush(stdout);
  int code = 0;
  auto write = [&](const std::string& path, const std::string& text) {
    if (path.empty()) return;
    if (absl::Status st = loadgen::WriteFile(path, text); !st.ok()) {
      std::fprintf(stderr, "tide load: %s\n", std::string(st.message()).c_str());
      code = 1;
    }
  };
  write(options.json_path, loadgen::ReportToJson(*report).dump(2) + "\n");
  write(options.csv_path, loadgen::ReportToCsv(*report));
  write(options.timeline_csv_path, loadgen::TimelineToCsv(*report));
  return code;
}

}  // namespace tide::apps
