#include "metrics/process_collector.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "metrics/metric_names.h"

namespace tide::metrics {
namespace {

// Fields of /proc/self/stat after the command name (field 3 onwards).
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  size_t close = line.rfind(')');
  std::vector<std::string> fields;
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 2));
  std::string f;
  while (rest >> f) fields.push_back(f);
  return fields;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

const double kStartTime = [] {
  auto f = StatFields();  // field 22 (starttime) is index 19 here
  if (f.size() < 20) return static_cast<double>(std::time(nullptr));
  return BootTimeSeconds() + std::stod(f[19]) / static_cast<double>(sysconf(_SC_CLK_TCK));
}();

}  // namespace

double ProcessCpuSeconds() {
  auto f = StatFields();  // utime, stime are fields 14, 15 → index 11, 12
  if (f.size() < 13) return 0;
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t ResidentMemoryBytes() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

void AddProcessMetrics(Registry* r) {
  r->AddCallback({names::kProcessCpuSecondsTotal,
                  "Total user and system CPU time spent in seconds.", Type::kCounter,
                  [] { return ProcessCpuSeconds(); }});
  r->AddCallback({names::kProcessResidentMemoryBytes, "Resident memory size in bytes.",
                  Type::kGauge, [] { return static_cast<double>(ResidentMemoryBytes()); }});
  r->AddCallback(
      {names::kProcessVirtualMemoryBytes, "Virtual memory size in bytes.", Type::kGauge, [] {
         std::ifstream in("/proc/self/statm");
         double pages = 0;
         in >> pages;
         return pages * static_cast<double>(sysconf(_SC_PAGESIZE));
       }});
  r->AddCallback({names::kProcessStartTimeSeconds,
                  "Start time of the process since unix epoch in seconds.", Type::kGauge,
                  [] { return kStartTime; }});
  r->AddCallback({names::kProcessOpenFds, "Number of open file descriptors.", Type::kGauge, [] {
                    std::error_code ec;
                    double n = 0;
                    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
                         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
                      ++n;
                    }
                    return n;
                  }});
  r->AddCallback(
      {names::kProcessMaxFds, "Maximum number of open file descriptors.", Type::kGauge, [] {
         rlimit rl{};
         getrlimit(RLIMIT_NOFILE, &rl);
         return static_cast<double>(rl.rlim_cur);
       }});
}

}  // namespace tide::metrics
