#include "autoscaler/quantity.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "autoscaler/absl_compat.h"

namespace tide::autoscaler {
namespace {

using u128 = unsigned __int128;
constexpr u128 kU128Max = ~static_cast<u128>(0);
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// 10^n for n in [0, 38]; 0 when it does not fit.
u128 Pow10U128(int n) {
  if (n < 0 || n > 38) return 0;
  u128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

// a * 10^n, or nullopt-like `false` on overflow.
bool MulPow10(u128 a, int n, u128* out) {
  if (a == 0) {
    *out = 0;
    return true;
  }
  u128 p = Pow10U128(n);
  if (p == 0 || a > kU128Max / p) return false;
  *out = a * p;
  return true;
}

// a / 10^n rounded up (a >= 0).
u128 DivPow10Up(u128 a, int n) {
  if (a == 0) return 0;
  u128 p = Pow10U128(n);
  if (p == 0) return 1;  // 10^n > a: any non-zero value rounds up to 1
  u128 q = a / p;
  return (a % p != 0) ? q + 1 : q;
}

std::string U128ToString(u128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(s.begin(), s.end());
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

struct Suffix {
  int base;      // 10 or 2
  int exponent;  // power of the base
  QuantityFormat format;
};

bool ParseSuffix(std::string_view s, Suffix* out) {
  struct Entry {
    std::string_view text;
    int base;
    int exponent;
  };
  static constexpr Entry kTable[] = {
      {"", 10, 0},   {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"k", 10, 3},  {"M", 10, 6},
      {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18}, {"Ki", 2, 10}, {"Mi", 2, 20},
      {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
  };
  for (const Entry& e : kTable) {
    if (s == e.text) {
      *out = {e.base, e.exponent,
              e.base == 2 ? QuantityFormat::kBinarySI : QuantityFormat::kDecimalSI};
      return true;
    }
  }
  // e<int> / E<int>: a decimal exponent.
  if (s.size() >= 2 && (s[0] == 'e' || s[0] == 'E')) {
    std::string_view rest = s.substr(1);
    bool neg = false;
    if (rest[0] == '+' || rest[0] == '-') {
      neg = rest[0] == '-';
      rest.remove_prefix(1);
    }
    if (rest.empty() || rest.size() > 9) return false;
    int64_t v = 0;
    for (char c : rest) {
      if (!IsDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
    *out = {10, static_cast<int>(neg ? -v : v), QuantityFormat::kDecimalExponent};
    return true;
  }
  return false;
}

constexpr char kFormatError[] =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

}  // namespace

double GoPow10(int n) {
  static constexpr double kTab[] = {1e00, 1e01, 1e02, 1e03, 1e04, 1e05, 1e06, 1e07,
                                    1e08, 1e09, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23,
                                    1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31};
  static constexpr double kPos32[] = {1e00,  1e32,  1e64,  1e96,  1e128,
                                      1e160, 1e192, 1e224, 1e256, 1e288};
  static constexpr double kNeg32[] = {1e-00,  1e-32,  1e-64,  1e-96,  1e-128, 1e-160,
                                      1e-192, 1e-224, 1e-256, 1e-288, 1e-320};
  if (n >= 0 && n <= 308) return kPos32[n / 32] * kTab[n % 32];
  if (n < 0 && n >= -323) return kNeg32[(-n) / 32] / kTab[(-n) % 32];
  if (n > 0) return std::numeric_limits<double>::infinity();
  return 0;
}

absl::StatusOr<Quantity> Quantity::Parse(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError(kFormatError);
  size_t pos = 0;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    pos = 1;
  }
  size_t num_start = pos;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  std::string_view num = text.substr(num_start, pos - num_start);
  std::string_view denom;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t denom_start = pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    denom = text.substr(denom_start, pos - denom_start);
  }
  if (num.empty() && denom.empty()) return absl::InvalidArgumentError(kFormatError);
  Suffix suffix;
  if (!ParseSuffix(text.substr(pos), &suffix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to parse quantity's suffix \"", AV(text.substr(pos)), "\""));
  }

  Quantity q;
  q.negative_ = negative;
  q.format_ = suffix.format;
  const int num_len = static_cast<int>(num.size());
  const int denom_len = static_cast<int>(denom.size());

  // Go's fast path: the value fits an int64 mantissa with a scale >= nano.
  if (suffix.base == 10) {
    int precision = 18 - num_len - denom_len;
    int64_t scale = static_cast<int64_t>(suffix.exponent) - denom_len;
    if (precision >= 0 && scale >= -9) {
      u128 v = 0;
      for (char c : num) v = v * 10 + (c - '0');
      for (char c : denom) v = v * 10 + (c - '0');
      q.unscaled_ = v;
      q.scale_ = static_cast<int32_t>(scale);
      if (v == 0) q.negative_ = false;
      return q;
    }
  } else if (denom_len == 0) {
    int precision =
        15 - num_len - static_cast<int>(static_cast<float>(suffix.exponent) * 3 / 10) - 1;
    if (precision >= 0) {
      u128 v = 0;
      for (char c : num) v = v * 10 + (c - '0');
      u128 r = v << suffix.exponent;
      if (r <= static_cast<u128>(kInt64Max)) {
        q.unscaled_ = r;
        q.scale_ = 0;
        if (r == 0) q.negative_ = false;
        return q;
      }
    }
  }

  // Slow path (inf.Dec): exact decimal, rounded up to scale 10^-9.
  std::string digits;
  digits.reserve(num.size() + denom.size());
  digits.append(num);
  digits.append(denom);
  size_t first = digits.find_first_not_of('0');
  digits = first == std::string::npos ? "" : digits.substr(first);
  int64_t inf_scale = denom_len;  // value = unscaled * 10^-inf_scale
  if (suffix.base == 10) inf_scale -= suffix.exponent;
  bool dropped_nonzero = false;
  if (digits.size() > 38) {  // keep 38 significant digits, round the rest up
    for (size_t i = 38; i < digits.size(); ++i) dropped_nonzero |= digits[i] != '0';
    inf_scale -= static_cast<int64_t>(digits.size() - 38);
    digits.resize(38);
  }
  u128 unscaled = 0;
  for (char c : digits) unscaled = unscaled * 10 + (c - '0');
  if (dropped_nonzero) ++unscaled;
  bool saturated = false;
  if (suffix.base == 2 && unscaled != 0) {
    if (unscaled > (kU128Max >> suffix.exponent)) {
      saturated = true;
    } else {
      unscaled <<= suffix.exponent;
    }
  }
  if (unscaled == 0) {
    q.negative_ = false;
    q.unscaled_ = 0;
    q.scale_ = 0;
    return q;
  }
  if (!saturated) {
    if (inf_scale < 9) {
      int64_t up = 9 - inf_scale;
      u128 r;
      if (up > 38 || !MulPow10(unscaled, static_cast<int>(up), &r)) {
        saturated = true;
      } else {
        unscaled = r;
      }
    } else if (inf_scale > 9) {
      int64_t down = inf_scale - 9;
      unscaled = down > 38 ? 1 : DivPow10Up(unscaled, static_cast<int>(down));
    }
  }
  if (saturated) unscaled = kU128Max;
  q.unscaled_ = unscaled;
  q.scale_ = -9;
  if (q.format_ == QuantityFormat::kBinarySI) {
    // BinarySI is capped at MaxInt64; below 1 it is reformatted as DecimalSI.
    const u128 cap = static_cast<u128>(kInt64Max) * 1000000000u;
    if (q.unscaled_ > cap) q.unscaled_ = cap;
    if (q.unscaled_ < 1000000000u) q.format_ = QuantityFormat::kDecimalSI;
  }
  return q;
}

Quantity Quantity::FromMilli(int64_t milli) {
  Quantity q;
  q.negative_ = milli < 0;
  q.unscaled_ =
      milli < 0 ? static_cast<u128>(-(static_cast<__int128>(milli))) : static_cast<u128>(milli);
  q.scale_ = -3;
  return q;
}

Quantity Quantity::FromInt(int64_t value) {
  Quantity q = FromMilli(value);
  q.scale_ = 0;
  return q;
}

namespace {

// sign * unscaled * 10^(scale + shift), rounded away from zero, saturated.
int64_t ScaledInt64(bool negative, u128 unscaled, int64_t exp10) {
  u128 mag;
  if (exp10 >= 0) {
    if (exp10 > 38 || !MulPow10(unscaled, static_cast<int>(exp10), &mag)) {
      return unscaled == 0 ? 0 : (negative ? kInt64Min : kInt64Max);
    }
  } else {
    mag = DivPow10Up(unscaled, static_cast<int>(-exp10));
  }
  if (negative) {
    if (mag > static_cast<u128>(kInt64Max) + 1) return kInt64Min;
    return static_cast<int64_t>(-static_cast<__int128>(mag));
  }
  if (mag > static_cast<u128>(kInt64Max)) return kInt64Max;
  return static_cast<int64_t>(mag);
}

}  // namespace

int64_t Quantity::MilliValue() const { return ScaledInt64(negative_, unscaled_, scale_ + 3); }

int64_t Quantity::Value() const { return ScaledInt64(negative_, unscaled_, scale_); }

double Quantity::AsApproximateFloat64() const {
  double base = static_cast<double>(unscaled_);
  if (negative_) base = -base;
  if (scale_ == 0) return base;
  return base * GoPow10(scale_);
}

int Quantity::Sign() const {
  if (unscaled_ == 0) return 0;
  return negative_ ? -1 : 1;
}

int Quantity::Compare(const Quantity& other) const {
  int sa = Sign(), sb = other.Sign();
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  // Compare magnitudes at the smaller scale; overflow means "larger".
  int32_t lo = std::min(scale_, other.scale_);
  u128 a, b;
  bool a_ok = MulPow10(unscaled_, scale_ - lo, &a);
  bool b_ok = MulPow10(other.unscaled_, other.scale_ - lo, &b);
  int mag;
  if (!a_ok && !b_ok) {
    mag = 0;  // both astronomically large; treat as equal
  } else if (!a_ok) {
    mag = 1;
  } else if (!b_ok) {
    mag = -1;
  } else {
    mag = a < b ? -1 : (a > b ? 1 : 0);
  }
  return negative_ ? -mag : mag;
}

std::string Quantity::ToString() const {
  if (unscaled_ == 0) return "0";
  std::string sign = negative_ ? "-" : "";
  u128 v = unscaled_;
  int64_t scale = scale_;
  while (v % 10 == 0) {
    v /= 10;
    ++scale;
  }
  if (format_ == QuantityFormat::kBinarySI && scale >= 0) {
    u128 integer;
    if (MulPow10(v, static_cast<int>(scale), &integer)) {
      static constexpr std::string_view kBin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
      int k = 0;
      while (k < 6 && integer % 1024 == 0) {
        integer /= 1024;
        ++k;
      }
      return absl::StrCat(sign, U128ToString(integer), AV(kBin[k]));
    }
  }
  // Decimal: the largest exponent, a multiple of 3, that keeps the mantissa integral.
  int64_t e = scale >= 0 ? (scale / 3) * 3 : -(((-scale) + 2) / 3) * 3;
  if (format_ != QuantityFormat::kDecimalExponent) e = std::min<int64_t>(e, 18);
  u128 mantissa;
  if (!MulPow10(v, static_cast<int>(scale - e), &mantissa)) {
    return absl::StrCat(sign, U128ToString(v), "e", scale);
  }
  std::string suffix;
  if (format_ == QuantityFormat::kDecimalExponent) {
    if (e != 0) suffix = absl::StrCat("e", e);
  } else {
    switch (e) {
      case -9:
        suffix = "n";
        break;
      case -6:
        suffix = "u";
        break;
      case -3:
        suffix = "m";
        break;
      case 0:
        break;
      case 3:
        suffix = "k";
        break;
      case 6:
        suffix = "M";
        break;
      case 9:
        suffix = "G";
        break;
      case 12:
        suffix = "T";
        break;
      case 15:
        suffix = "P";
        break;
      case 18:
        suffix = "E";
        break;
      default:
        suffix = absl::StrCat("e", e);
    }
  }
  return absl::StrCat(sign, U128ToString(mantissa), suffix);
}

}  // namespace tide::autoscaler
