#include "sim/distribution.h"

#include "gtest/gtest.h"

namespace tide::sim {
namespace {

TEST(DurationDistribution, ParsesEveryForm) {
  auto d = ParseDurationDistribution("30");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ToString(), "fixed:30");
  std::mt19937_64 rng(1);
  EXPECT_EQ(d->SampleSeconds(rng), 30);
  d = ParseDurationDistribution("uniform:15:45");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->Mean(), 30);
  for (int i = 0; i < 1000; ++i) {
    double s = d->SampleSeconds(rng);
    EXPECT_GE(s, 15);
    EXPECT_LT(s, 45);
  }
  d = ParseDurationDistribution("lognormal:30:0.5");
  ASSERT_TRUE(d.ok());
  double sum = 0;
  for (int i = 0; i < 100000; ++i) sum += d->SampleSeconds(rng);
  EXPECT_NEAR(sum / 100000, 30, 0.3);
  EXPECT_EQ(ParseDurationDistribution("exponential:12")->Mean(), 12);
}

TEST(DurationDistribution, NamesWhatIsWrong) {
  EXPECT_EQ(ParseDurationDistribution("uniform:45:15").status().message(),
            "'uniform:45:15': low must be <= high (use S, fixed:S, uniform:LOW:HIGH, "
            "exponential:MEAN or lognormal:MEAN:SIGMA, in seconds)");
  EXPECT_EQ(ParseDurationDistribution("gamma:3").status().message(),
            "'gamma:3': unknown distribution 'gamma' (use S, fixed:S, uniform:LOW:HIGH, "
            "exponential:MEAN or lognormal:MEAN:SIGMA, in seconds)");
  EXPECT_FALSE(ParseDurationDistribution("fixed:-1").ok());
  EXPECT_FALSE(ParseDurationDistribution("uniform:1").ok());
}

}  // namespace
}  // namespace tide::sim
