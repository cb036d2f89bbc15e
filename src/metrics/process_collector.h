#pragma once

#include "metrics/metrics.h"

namespace tide::metrics {

// Adds the standard process metrics, read from /proc at render time:
// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_start_time_seconds,
// process_open_fds, process_max_fds.
void AddProcessMetrics(Registry* registry);

// This process's resident set size in bytes (0 if /proc is unreadable).
int64_t ResidentMemoryBytes();
// User + system CPU seconds this process has used.
double ProcessCpuSeconds();

}  // namespace tide::metrics
