// Queueing theory as the oracle: with the server's batching switched off and
// exponential or fixed service, the simulated pods are textbook queues, so
// their mean wait and the share of requests that wait must match the closed
// forms. Each test runs >= 1 M requests with a fixed seed (deterministic).

#include <cmath>

#include "gtest/gtest.h"
#include "sim/simulation.h"

namespace tide::sim {
namespace {

// Erlang C: P(wait > 0) for c servers offered a = lambda/mu erlangs.
double ErlangC(int c, double a) {
  double term = 1, sum = 1;  // a^k / k!, k = 0
  for (int k = 1; k < c; ++k) {
    term *= a / k;
    sum += term;
  }
  double last = term * a / c;  // a^c / c!
  double rho = a / c;
  double top = last / (1 - rho);
  return top / (sum + top);
}

SimOptions Queue(int instances, double service_ms, backends::ServiceTimeDistribution d) {
  SimOptions o;
  o.pod.instances = instances;
  o.pod.batching.max_batch_size = 0;  // one request at a time
  o.pod.max_queue_size = int64_t{1} << 40;
  o.pod.service.compute_ms = service_ms;
  o.pod.service.per_item_ms = 0;
  o.pod.service.distribution = d;
  o.timeline = false;
  o.seed = 2026;
  return o;
}

PolicySpec Fixed(int n) {
  PolicySpec p;
  p.kind = PolicySpec::Kind::kFixed;
  p.name = "fixed";
  p.fixed_replicas = n;
  return p;
}

PolicyResult RunPoisson(SimOptions o, int replicas, double rate, double seconds) {
  o.horizon = static_cast<Nanos>(seconds * 1e9);
  workload::PoissonArrivals arrivals(rate, o.seed);
  auto r = Simulate(o, Fixed(replicas), &arrivals);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

// M/M/4: one replica with 4 instances sharing its queue. lambda = 300/s,
// mu = 100/s (10 ms), a = 3, rho = 0.75: C(4, 3) = 0.5094, Wq = C / (c mu - lambda).
TEST(QueueingOracle, MMcMatchesErlangC) {
  PolicyResult r =
      RunPoisson(Queue(4, 10, backends::ServiceTimeDistribution::kExponential), 1, 300, 4000);
  ASSERT_GE(r.requests, 1'000'000u);
  double c = ErlangC(4, 3.0);
  EXPECT_NEAR(c, 0.5094, 1e-4);
  double wq = c / (400.0 - 300.0);
  EXPECT_NEAR(r.wait_p_positive, c, 0.02 * c);
  EXPECT_NEAR(r.wait_mean_s, wq, 0.02 * wq);
  EXPECT_EQ(r.completed, r.requests);
}

// `--fixed 4` replicas with one instance each behind kube-proxy's random
// choice: random splitting of a Poisson stream gives four independent M/M/1
// queues at lambda/4 (Erlang C with c = 1: P(wait) = rho, Wq = rho / (mu - lambda_i)).
TEST(QueueingOracle, RandomlyBalancedSingleInstanceReplicasAreMM1) {
  PolicyResult r =
      RunPoisson(Queue(1, 10, backends::ServiceTimeDistribution::kExponential), 4, 280, 4000);
  ASSERT_GE(r.requests, 1'000'000u);
  double rho = 70.0 / 100.0;
  double wq = rho / (100.0 - 70.0);
  EXPECT_NEAR(ErlangC(1, rho), rho, 1e-12);
  EXPECT_NEAR(r.wait_p_positive, rho, 0.02 * rho);
  EXPECT_NEAR(r.wait_mean_s, wq, 0.02 * wq);
}

// M/D/1: fixed 10 ms service, lambda = 70/s, rho = 0.7. Pollaczek-Khinchine:
// Wq = rho D / (2 (1 - rho)) = 11.667 ms; P(wait > 0) = rho.
TEST(QueueingOracle, MD1MatchesPollaczekKhinchine) {
  PolicyResult r =
      RunPoisson(Queue(1, 10, backends::ServiceTimeDistribution::kFixed), 1, 70, 15000);
  ASSERT_GE(r.requests, 1'000'000u);
  double wq = 0.7 * 0.010 / (2 * 0.3);
  EXPECT_NEAR(r.wait_mean_s, wq, 0.02 * wq);
  EXPECT_NEAR(r.wait_p_positive, 0.7, 0.02 * 0.7);
}

// Batching: the mean batch size is what the batch policy's own rules
// (src/batching/batch_policy_test.cc) give for the queues the pod sees.
SimOptions Batching(int max_batch, std::vector<int32_t> preferred, double delay_ms) {
  SimOptions o;
  o.pod.instances = 1;
  o.pod.batching = {max_batch, true, std::move(preferred), absl::Microseconds(delay_ms * 1000)};
  o.pod.max_queue_size = 1 << 20;
  o.pod.service.compute_ms = 1;
  o.pod.service.per_item_ms = 0.1;
  o.timeline = false;
  return o;
}

// Bursts of 20 requests at once, one burst a second, max_batch_size 8, no
// delay. The first finds the pod idle and runs alone ("zero delay dispatches
// immediately"); the 19 others queue behind it and go as 8, 8 ("full batch
// dispatches at once") and 3 (the rest, "zero delay"): 4 batches per burst.
TEST(QueueingOracle, BurstsBatchAsThePolicySays) {
  SimOptions o = Batching(8, {}, 0);
  o.horizon = 50'000 * kNanosPerSecond;
  std::vector<absl::Duration> offsets;
  for (int s = 0; s < 50'000; ++s) {
    for (int k = 0; k < 20; ++k) offsets.push_back(absl::Seconds(s));
  }
  workload::ListArrivals arrivals(
      std::make_shared<const std::vector<absl::Duration>>(std::move(offsets)));
  PolicyResult r = *Simulate(o, Fixed(1), &arrivals);
  ASSERT_EQ(r.requests, 1'000'000u);
  EXPECT_EQ(r.batches, 200'000u);
  EXPECT_DOUBLE_EQ(r.mean_batch_size, 5);
}

// With bursts of 7 and preferred sizes {4, 6} ("preferred size reached:
// dispatch the largest preferred prefix"): 1 alone, then 6: mean 3.5.
TEST(QueueingOracle, PreferredSizesBatchAsThePolicySays) {
  SimOptions o = Batching(8, {4, 6}, 0);
  std::vector<absl::Duration> offsets;
  for (int s = 0; s < 150'000; ++s) {
    offsets.push_back(absl::Seconds(s));
    for (int k = 1; k < 7; ++k) offsets.push_back(absl::Seconds(s) + absl::Microseconds(10));
  }
  workload::ListArrivals arrivals(
      std::make_shared<const std::vector<absl::Duration>>(std::move(offsets)));
  PolicyResult r = *Simulate(o, Fixed(1), &arrivals);
  ASSERT_EQ(r.requests, 1'050'000u);
  EXPECT_EQ(r.batches, 300'000u);
  EXPECT_DOUBLE_EQ(r.mean_batch_size, 3.5);
}

// A request every ms and max_queue_delay 5 ms ("under max and delay not
// reached: wait for the oldest's deadline", then "delay reached exactly:
// dispatch"): the timer of the oldest fires at its arrival + 5 ms, before the
// arrival of that same instant, with 5 requests queued: batches of 5.
TEST(QueueingOracle, QueueDelayBatchesAsThePolicySays) {
  SimOptions o = Batching(8, {}, 5);
  o.pod.service.compute_ms = 0.5;
  o.pod.service.per_item_ms = 0;
  o.horizon = 1000 * kNanosPerSecond;
  workload::ConstantArrivals arrivals(1000);
  PolicyResult r = *Simulate(o, Fixed(1), &arrivals);
  ASSERT_EQ(r.requests, 1'000'000u);
  EXPECT_DOUBLE_EQ(r.mean_batch_size, 5);
  EXPECT_NEAR(r.wait_mean_s, 0.003, 1e-9);  // waits 5, 4, 3, 2, 1 ms
}

}  // namespace
}  // namespace tide::sim
