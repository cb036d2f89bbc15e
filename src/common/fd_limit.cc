#include "common/fd_limit.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>

namespace tide::common {

DescriptorLimit RaiseDescriptorLimit() {
  constexpr rlim_t kMost = rlim_t{1} << 20;
  DescriptorLimit out;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return out;
  out.before = out.after = static_cast<uint64_t>(rl.rlim_cur);
  const rlim_t want = rl.rlim_max == RLIM_INFINITY ? kMost : std::min(rl.rlim_max, kMost);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlimit raised{want, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) out.after = static_cast<uint64_t>(want);
  }
  return out;
}

int OpenDescriptors() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

int64_t ConnectionBudget(uint64_t limit, int open, int keep) {
  const int64_t budget =
      static_cast<int64_t>(std::min<uint64_t>(limit, uint64_t{1} << 40)) - open - keep;
  return std::max<int64_t>(0, budget);
}

}  // namespace tide::common
