#pragma once

// OpenBLAS picks its compute kernels by recognising the CPU model. Debian 12's
// OpenBLAS (0.3.21) does not know CPUs that report an unfamiliar model (as
// many virtual machines do) and then falls back to its generic "Prescott"
// kernels (SSE3), 2-4x slower than the AVX2/AVX-512 ones the CPU can run
// (measured on this project's machines: mlp's batch-1 forward() 230 us with
// Prescott, 105 us with SkylakeX). The kernels can be chosen with the
// OPENBLAS_CORETYPE environment variable, read once when libopenblas loads,
// so tide sets it, when the user has not, before the first backend that may
// load OpenBLAS (libtorch) is loaded.

#include <optional>
#include <string>

namespace tide::common {

struct CpuSimd {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
};

// What this CPU can run, the operating system's support included.
CpuSimd DetectCpuSimd();

// The OpenBLAS core type whose kernels `cpu` runs best among those that need
// nothing beyond its instruction sets: "SkylakeX" (AVX-512 F/BW/DQ/VL),
// "Haswell" (AVX2 + FMA), or nothing (let OpenBLAS decide).
std::optional<std::string> OpenBlasCoreTypeFor(const CpuSimd& cpu);

// Sets OPENBLAS_CORETYPE from this CPU when it is unset; returns a line for
// the log saying what was done, or "" when nothing was.
std::string PrepareOpenBlasCoreType();

// OpenBLAS core names that are generic fallbacks, slow on a CPU with AVX2.
bool IsGenericOpenBlasCore(const std::string& core_name);

}  // namespace tide::common
