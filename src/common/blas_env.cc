#include "common/blas_env.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tide::common {

CpuSimd DetectCpuSimd() {
  CpuSimd c;
#if defined(__x86_64__) || defined(__i386__)
  // GCC's and clang's checks include the OS's XSAVE support for the state.
  __builtin_cpu_init();
  c.avx2 = __builtin_cpu_supports("avx2");
  c.fma = __builtin_cpu_supports("fma");
  c.avx512f = __builtin_cpu_supports("avx512f");
  c.avx512bw = __builtin_cpu_supports("avx512bw");
  c.avx512dq = __builtin_cpu_supports("avx512dq");
  c.avx512vl = __builtin_cpu_supports("avx512vl");
#endif
  return c;
}

std::optional<std::string> OpenBlasCoreTypeFor(const CpuSimd& cpu) {
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512vl && cpu.avx2 && cpu.fma) {
    return "SkylakeX";
  }
  if (cpu.avx2 && cpu.fma) return "Haswell";
  return std::nullopt;
}

std::string PrepareOpenBlasCoreType() {
  if (const char* set = std::getenv("OPENBLAS_CORETYPE"); set != nullptr) {
    return absl::StrCat("OPENBLAS_CORETYPE=", set, " (from the environment)");
  }
  std::optional<std::string> core = OpenBlasCoreTypeFor(DetectCpuSimd());
  if (!core) return "";
  setenv("OPENBLAS_CORETYPE", core->c_str(), /*overwrite=*/0);
  return absl::StrCat("OPENBLAS_CORETYPE=", *core,
                      " for this CPU's instruction sets (OpenBLAS 0.3.21 falls back to slow "
                      "generic kernels on CPUs it does not recognise, as in many VMs); set "
                      "OPENBLAS_CORETYPE yourself to choose otherwise");
}

bool IsGenericOpenBlasCore(const std::string& core_name) {
  std::string c = absl::AsciiStrToLower(core_name);
  return c == "prescott" || c == "core2" || c == "katmai" || c == "coppermine" ||
         c == "northwood" || c == "banias" || c == "penryn" || c == "dunnington" ||
         c == "nehalem" || c == "atom" || c == "generic" || c == "unknown";
}

}  // namespace tide::common
