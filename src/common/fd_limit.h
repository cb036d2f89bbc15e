#pragma once

// The process's descriptor limit (RLIMIT_NOFILE): raised at start-up, and
// the share of it the inference port may hold in connections.

#include <cstdint>

namespace tide::common {

struct DescriptorLimit {
  uint64_t before = 0;  // soft limit found
  uint64_t after = 0;   // soft limit now
};

// Raises the soft RLIMIT_NOFILE to the hard limit (at most 1,048,576), as Go's
// runtime and nginx's worker_rlimit_nofile do: a login shell's soft limit
// (often 1024) is far below what a server holding connections needs, and the
// hard limit is what the administrator allows. Idempotent; on failure the
// limit is left as it was.
DescriptorLimit RaiseDescriptorLimit();

// Descriptors open in this process now (entries of /proc/self/fd), or -1.
int OpenDescriptors();

// How many connections the inference port may hold (its cap plus the
// connections reserved for health checks) so that `keep` descriptors stay
// free for everything else (metrics scrapes, gRPC, model files, logs):
// limit - open - keep, at least 0.
int64_t ConnectionBudget(uint64_t limit, int open, int keep);

}  // namespace tide::common
