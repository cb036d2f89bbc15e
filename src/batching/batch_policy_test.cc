#include "batching/batch_policy.h"

#include "gtest/gtest.h"

namespace tide::batching {
namespace {

const absl::Time T0 = absl::FromUnixSeconds(1000);
absl::Time Ms(int ms) { return T0 + absl::Milliseconds(ms); }

using K = BatchDecision::Kind;

struct Case {
  const char* name;
  BatchPolicyConfig config;
  std::vector<QueuedItem> queue;
  absl::Time now;
  bool flush;
  BatchDecision want;
};

BatchPolicyConfig Dyn(int max, std::vector<int32_t> preferred, int delay_ms) {
  return {max, true, preferred, absl::Milliseconds(delay_ms)};
}

TEST(DecideBatch, Table) {
  const std::string_view a = "A:16,;", b = "A:8,;";
  const Case cases[] = {
      {"empty queue is idle",
       Dyn(8, {}, 5),
       {},
       Ms(0),
       false,
       {K::kIdle, 0, absl::InfiniteFuture(), 0}},
      {"non-batching model runs one at a time",
       {0, false, {}, absl::ZeroDuration()},
       {{1, a, Ms(0)}, {1, a, Ms(0)}},
       Ms(0),
       false,
       {K::kDispatch, 1, absl::InfiniteFuture(), 1}},
      {"no dynamic_batching: one request as it came, never merged",
       {8, false, {}, absl::ZeroDuration()},
       {{2, a, Ms(0)}, {3, a, Ms(1)}},
       Ms(1),
       false,
       {K::kDispatch, 1, absl::InfiniteFuture(), 2}},
      {"no dynamic_batching: the client's whole batch",
       {8, false, {}, absl::ZeroDuration()},
       {{8, a, Ms(0)}, {1, a, Ms(1)}},
       Ms(1),
       false,
       {K::kDispatch, 1, absl::InfiniteFuture(), 8}},
      {"no dynamic_batching while flushing: still one request",
       {8, false, {}, absl::ZeroDuration()},
       {{1, a, Ms(0)}, {1, a, Ms(0)}, {1, a, Ms(0)}},
       Ms(0),
       true,
       {K::kDispatch, 1, absl::InfiniteFuture(), 1}},
      {"under max and delay not reached: wait for the oldest's deadline",
       Dyn(8, {}, 5),
       {{1, a, Ms(0)}, {1, a, Ms(2)}},
       Ms(3),
       false,
       {K::kWait, 0, Ms(5), 0}},
      {"delay reached exactly: dispatch",
       Dyn(8, {}, 5),
       {{1, a, Ms(0)}, {1, a, Ms(2)}},
       Ms(5),
       false,
       {K::kDispatch, 2, absl::InfiniteFuture(), 2}},
      {"full batch dispatches at once",
       Dyn(4, {}, 100),
       {{2, a, Ms(0)}, {2, a, Ms(1)}, {1, a, Ms(1)}},
       Ms(1),
       false,
       {K::kDispatch, 2, absl::InfiniteFuture(), 4}},
      {"next request does not fit: dispatch what fits",
       Dyn(4, {}, 100),
       {{2, a, Ms(0)}, {3, a, Ms(1)}},
       Ms(1),
       false,
       {K::kDispatch, 1, absl::InfiniteFuture(), 2}},
      {"different shape is never merged and blocks growth",
       Dyn(8, {}, 100),
       {{1, a, Ms(0)}, {1, a, Ms(0)}, {1, b, Ms(0)}, {1, a, Ms(0)}},
       Ms(0),
       false,
       {K::kDispatch, 2, absl::InfiniteFuture(), 2}},
      {"preferred size reached: dispatch the largest preferred prefix",
       Dyn(8, {2, 4}, 100),
       {{1, a, Ms(0)}, {1, a, Ms(0)}, {1, a, Ms(0)}, {1, a, Ms(0)}, {1, a, Ms(0)}},
       Ms(0),
       false,
       {K::kDispatch, 4, absl::InfiniteFuture(), 4}},
      {"preferred size not hit exactly: wait",
       Dyn(8, {4}, 100),
       {{3, a, Ms(0)}, {2, a, Ms(1)}},
       Ms(1),
       false,
       {K::kWait, 0, Ms(100), 0}},
      {"zero delay dispatches immediately",
       Dyn(8, {}, 0),
       {{1, a, Ms(0)}},
       Ms(0),
       false,
       {K::kDispatch, 1, absl::InfiniteFuture(), 1}},
      {"flush (shutdown) never waits",
       Dyn(8, {}, 100),
       {{1, a, Ms(0)}},
       Ms(0),
       true,
       {K::kDispatch, 1, absl::InfiniteFuture(), 1}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    BatchDecision got = DecideBatch(c.config, c.queue, c.now, c.flush);
    EXPECT_EQ(got.kind, c.want.kind);
    EXPECT_EQ(got.count, c.want.count);
    EXPECT_EQ(got.rows, c.want.rows);
    EXPECT_EQ(got.wait_until, c.want.wait_until);
  }
}

}  // namespace
}  // namespace tide::batching
