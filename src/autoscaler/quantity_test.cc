#include "autoscaler/quantity.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace tide::autoscaler {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

struct ParseCase {
  const char* text;
  int64_t milli;
  int64_t value;
  const char* canonical;
};

TEST(QuantityTest, ParseTable) {
  const ParseCase cases[] = {
      {"500m", 500, 1, "500m"},
      {"1.5", 1500, 2, "1500m"},
      {"1.0", 1000, 1, "1"},
      {"15.0", 15000, 15, "15"},
      {"0.9", 900, 1, "900m"},
      {"2222m", 2222, 3, "2222m"},
      {"2Ki", 2048000, 2048, "2Ki"},
      {"1Ki", 1024000, 1024, "1Ki"},
      {"1.5Ki", 1536000, 1536, "1536"},  // binary with a fraction: exact decimal
      {"1.5Gi", 1610612736000, 1610612736, "1536Mi"},
      {"1e3", 1000000, 1000, "1e3"},
      {"1E3", 1000000, 1000, "1e3"},
      {"1.1e1", 11000, 11, "11"},
      {"1e-3", 1, 1, "1e-3"},
      {"100M", 100000000000, 100000000, "100M"},
      {"2000", 2000000, 2000, "2k"},
      {"0.1", 100, 1, "100m"},
      {"0.1m", 1, 1, "100u"},  // MilliValue rounds up to the next milli
      {"1n", 1, 1, "1n"},
      {"0.5n", 1, 1, "1n"},  // below 1n: rounded up to 1n at parse time
      {"1u", 1, 1, "1u"},
      {"+1", 1000, 1, "1"},
      {"-500m", -500, -1, "-500m"},
      {"-1.5", -1500, -2, "-1500m"},
      {"0", 0, 0, "0"},
      {"0.000", 0, 0, "0"},
      {".5", 500, 1, "500m"},
      {"5.", 5000, 5, "5"},
      {"9223372036854775807m", kMax, 9223372036854776, "9223372036854775807m"},
      {"9223372036854775807", kMax, kMax, "9223372036854775807"},
      {"1E", kMax, 1000000000000000000, "1E"},  // 1e21 milli saturates
      {"10E", kMax, kMax, "10E"},
      {"-10E", kMin, kMin, "-10E"},
      {"1Ei", kMax, 1152921504606846976, "1Ei"},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.text);
    auto q = Quantity::Parse(c.text);
    ASSERT_TRUE(q.ok()) << q.status();
    EXPECT_EQ(q->MilliValue(), c.milli);
    EXPECT_EQ(q->Value(), c.value);
    EXPECT_EQ(q->ToString(), c.canonical);
  }
}

TEST(QuantityTest, RejectsMalformed) {
  for (const char* bad : {"", ".", "-", "abc", "1.2.3", "1Kb", "e3", "1e", "1 ", " 1", "1ki", "1mm",
                          "0x10", "1e+", "--1"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(Quantity::Parse(bad).ok());
  }
}

TEST(QuantityTest, AsApproximateFloat64FollowsGoRepresentation) {
  // Fast path: int64 mantissa 5, exponent -2 -> 5 * (1/100).
  EXPECT_EQ(Quantity::Parse("0.05")->AsApproximateFloat64(), 5.0 * (1.0 / 100.0));
  EXPECT_EQ(Quantity::Parse("0.1")->AsApproximateFloat64(), 1.0 * (1.0 / 10.0));
  EXPECT_EQ(Quantity::Parse("1.50")->AsApproximateFloat64(), 150.0 * (1.0 / 100.0));
  EXPECT_EQ(Quantity::Parse("2")->AsApproximateFloat64(), 2.0);
  EXPECT_EQ(Quantity::Parse("1k")->AsApproximateFloat64(), 1000.0);
  EXPECT_EQ(Quantity::Parse("2Ki")->AsApproximateFloat64(), 2048.0);
  EXPECT_EQ(Quantity::Parse("-250m")->AsApproximateFloat64(), -0.25);
  // Slow path (scale below nano): rounded to 1n, then 1 * 10^-9.
  EXPECT_EQ(Quantity::Parse("0.0000000001")->AsApproximateFloat64(), 1.0 / 1e9);
  EXPECT_EQ(Quantity::Parse("0")->AsApproximateFloat64(), 0.0);
}

TEST(QuantityTest, GoPow10Table) {
  EXPECT_EQ(GoPow10(0), 1.0);
  EXPECT_EQ(GoPow10(3), 1000.0);
  EXPECT_EQ(GoPow10(-2), 1.0 / 100.0);
  EXPECT_EQ(GoPow10(40), 1e32 * 1e8);
  EXPECT_EQ(GoPow10(-40), 1e-32 / 1e8);
  EXPECT_EQ(GoPow10(400), std::numeric_limits<double>::infinity());
  EXPECT_EQ(GoPow10(-400), 0.0);
}

TEST(QuantityTest, FromMilliAndCompare) {
  EXPECT_EQ(Quantity::FromMilli(1500).MilliValue(), 1500);
  EXPECT_EQ(Quantity::FromMilli(1500).ToString(), "1500m");
  EXPECT_EQ(Quantity::FromMilli(kMax).MilliValue(), kMax);
  EXPECT_EQ(Quantity::FromMilli(kMin).MilliValue(), kMin);
  EXPECT_EQ(Quantity::FromInt(3).MilliValue(), 3000);
  EXPECT_TRUE(*Quantity::Parse("1") == *Quantity::Parse("1000m"));
  EXPECT_TRUE(*Quantity::Parse("1Ki") == *Quantity::Parse("1024"));
  EXPECT_LT(Quantity::Parse("999m")->Compare(*Quantity::Parse("1")), 0);
  EXPECT_GT(Quantity::Parse("-1m")->Compare(*Quantity::Parse("-2")), 0);
  EXPECT_EQ(Quantity::Parse("-1")->Sign(), -1);
  EXPECT_EQ(Quantity::Parse("0m")->Sign(), 0);
  EXPECT_EQ(Quantity::Parse("1n")->Sign(), 1);
}

}  // namespace
}  // namespace tide::autoscaler
