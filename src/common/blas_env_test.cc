#include "common/blas_env.h"

#include <cstdlib>

#include "gtest/gtest.h"

namespace tide::common {
namespace {

TEST(OpenBlasCoreType, FollowsTheInstructionSets) {
  CpuSimd none;
  EXPECT_EQ(OpenBlasCoreTypeFor(none), std::nullopt);
  CpuSimd avx2{.avx2 = true, .fma = true};
  EXPECT_EQ(OpenBlasCoreTypeFor(avx2), "Haswell");
  CpuSimd avx2_no_fma{.avx2 = true};
  EXPECT_EQ(OpenBlasCoreTypeFor(avx2_no_fma), std::nullopt);
  CpuSimd avx512{.avx2 = true,
                 .fma = true,
                 .avx512f = true,
                 .avx512bw = true,
                 .avx512dq = true,
                 .avx512vl = true};
  EXPECT_EQ(OpenBlasCoreTypeFor(avx512), "SkylakeX");
  CpuSimd avx512f_only{.avx2 = true, .fma = true, .avx512f = true};  // e.g. Knights Landing
  EXPECT_EQ(OpenBlasCoreTypeFor(avx512f_only), "Haswell");
}

TEST(OpenBlasCoreType, TheUsersChoiceIsKept) {
  setenv("OPENBLAS_CORETYPE", "Zen", 1);
  EXPECT_EQ(PrepareOpenBlasCoreType(), "OPENBLAS_CORETYPE=Zen (from the environment)");
  EXPECT_STREQ(std::getenv("OPENBLAS_CORETYPE"), "Zen");
  unsetenv("OPENBLAS_CORETYPE");
  std::string line = PrepareOpenBlasCoreType();
  auto expected = OpenBlasCoreTypeFor(DetectCpuSimd());
  if (expected) {
    EXPECT_STREQ(std::getenv("OPENBLAS_CORETYPE"), expected->c_str());
    EXPECT_EQ(line.rfind("OPENBLAS_CORETYPE=" + *expected + " for this CPU", 0), 0u) << line;
  } else {
    EXPECT_EQ(std::getenv("OPENBLAS_CORETYPE"), nullptr);
    EXPECT_EQ(line, "");
  }
  unsetenv("OPENBLAS_CORETYPE");
}

TEST(OpenBlasCoreType, GenericFallbacksAreRecognised) {
  EXPECT_TRUE(IsGenericOpenBlasCore("Prescott"));
  EXPECT_TRUE(IsGenericOpenBlasCore("CORE2"));
  EXPECT_FALSE(IsGenericOpenBlasCore("SkylakeX"));
  EXPECT_FALSE(IsGenericOpenBlasCore("Haswell"));
  EXPECT_FALSE(IsGenericOpenBlasCore("Cooperlake"));
}

}  // namespace
}  // namespace tide::common
