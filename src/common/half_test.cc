#include "common/half.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace tide::common {
namespace {

TEST(Half, KnownValuesAndRounding) {
  struct Case {
    float f;
    uint16_t h;
  } cases[] = {
      {0.0f, 0x0000},           {1.0f, 0x3c00}, {-2.5f, 0xc100},
      {65504.0f, 0x7bff},       {1e6f, 0x7c00}, {5.96046448e-8f, 0x0001},  // smallest subnormal
      {1.00048828125f, 0x3c00},  // halfway between 1 and the next half: ties to even (down)
      {1.00146484375f, 0x3c02},  // halfway, odd below: ties to even (up)
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FloatToHalf(c.f), c.h) << c.f;
  }
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc100), -2.5f);
  EXPECT_EQ(HalfToFloat(0x0001), 5.9604644775390625e-8f);
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::numeric_limits<float>::quiet_NaN()))));
  for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite positive half round-trips
    ASSERT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h) << h;
  }
}

}  // namespace
}  // namespace tide::common
