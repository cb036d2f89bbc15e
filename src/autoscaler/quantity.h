#pragma once

// Kubernetes resource.Quantity (k8s.io/apimachinery/pkg/api/resource): the
// fixed-point decimal used for every target and metric value in an HPA.
//
// The HPA decision only ever looks at a quantity through MilliValue() (int64,
// rounded up to the next milli) and AsApproximateFloat64() (tolerances), so
// those two follow upstream bit for bit, including which internal
// representation (Go's int64 "fast path" or inf.Dec "slow path") a parsed
// string ends up in, because that decides the float64 operations performed.
// Values that do not fit an int64 milli-value saturate at INT64_MAX/MIN
// (upstream silently wraps; see docs/autoscaler.md).
//
// Quantity is a small value type; it is immutable and thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tide::autoscaler {

enum class QuantityFormat {
  kDecimalSI,        // 1.5, 500m, 2k, 100M
  kBinarySI,         // 2Ki, 1Gi
  kDecimalExponent,  // 1e3, 2E-3
};

class Quantity {
 public:
  Quantity() = default;

  // Parses the Kubernetes quantity grammar:
  //   [+-] digits [. digits] [suffix]   (at least one digit)
  //   suffix: n u m "" k M G T P E | Ki Mi Gi Ti Pi Ei | e<int> E<int>
  // Values more precise than 1n are rounded up (away from zero) to 1n, as
  // upstream does. InvalidArgument names what is wrong.
  static absl::StatusOr<Quantity> Parse(std::string_view text);

  // The quantity `milli`/1000 (resource.NewMilliQuantity, DecimalSI).
  static Quantity FromMilli(int64_t milli);
  // The integer quantity `value` (resource.NewQuantity, DecimalSI).
  static Quantity FromInt(int64_t value);

  // The value in milli-units, rounded away from zero to the next milli;
  // saturates at INT64_MAX / INT64_MIN.
  int64_t MilliValue() const;
  // The value in units, rounded away from zero; saturates.
  int64_t Value() const;
  // Go's AsApproximateFloat64: mantissa * math.Pow10(exponent), in the
  // representation upstream's parser would have chosen.
  double AsApproximateFloat64() const;

  // -1, 0 or +1.
  int Sign() const;
  bool IsZero() const { return unscaled_ == 0; }
  QuantityFormat format() const { return format_; }

  // Canonical string, as kubectl prints it ("1500m", "2k", "1Ki", "1e3").
  std::string ToString() const;

  // Exact comparison of the represented values.
  int Compare(const Quantity& other) const;
  friend bool operator==(const Quantity& a, const Quantity& b) { return a.Compare(b) == 0; }

 private:
  using u128 = unsigned __int128;
  // value = (negative_ ? -1 : 1) * unscaled_ * 10^scale_
  bool negative_ = false;
  u128 unscaled_ = 0;
  int32_t scale_ = 0;
  QuantityFormat format_ = QuantityFormat::kDecimalSI;
};

// Go's math.Pow10, reproduced table for table so that float products match.
double GoPow10(int n);

}  // namespace tide::autoscaler
