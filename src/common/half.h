#pragma once

// IEEE 754 half precision (FP16) <-> float, for the V2 protocol's FP16 data,
// which travels as JSON numbers or raw 2-byte values.

#include <cstdint>

namespace tide::common {

// Rounds to nearest, ties to even; overflow becomes infinity, NaN stays NaN.
uint16_t FloatToHalf(float f);
// Exact.
float HalfToFloat(uint16_t h);

}  // namespace tide::common
