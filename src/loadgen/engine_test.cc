// The load engine against a fake server on 127.0.0.1 with controlled
// behaviour: rate accuracy, coordinated omission, trace replay timing,
// errors by cause, warm-up, stop, limits.

#include "loadgen/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "gtest/gtest.h"
#include "loadgen/testing/fake_http_server.h"
#include "workload/trace_reader.h"

namespace tide::loadgen {
namespace {

using testing::FakeBehaviour;
using testing::FakeHttpServer;
using testing::FakeReply;
using testing::FakeRequest;

constexpr int64_t kMs = 1'000'000;

std::unique_ptr<FakeHttpServer> StartServer(FakeBehaviour b) {
  auto s = FakeHttpServer::Start(std::move(b));
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

EngineOptions BaseOptions(uint16_t port) {
  EngineOptions o;
  o.target = Url{"127.0.0.1", port, "/"};
  o.requests = {SerializeRequest("GET", o.target, "/", {}, "")};
  return o;
}

EngineResult RunEngine(EngineOptions o) {
  auto engine = LoadEngine::Create(std::move(o));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return (*engine)->Run();
}

FakeReply Fast(const FakeRequest&) { return FakeReply(); }

TEST(LoadEngine, OpenLoopAchievesRequestedRateWithFastServer) {
  auto server = StartServer(Fast);
  EngineOptions o = BaseOptions(server->port());
  o.arrivals = std::make_unique<workload::ConstantArrivals>(500.0);
  o.duration = absl::Seconds(2);
  EngineResult r = RunEngine(std::move(o));
  EXPECT_EQ(r.scheduled, 1000u);
  EXPECT_EQ(r.sent, 1000u);
  EXPECT_EQ(r.ok, 1000u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_DOUBLE_EQ(r.window_s, 2.0);
  const double achieved = r.sent / r.window_s;
  EXPECT_NEAR(achieved, 500.0, 5.0);  // within 1 %
  EXPECT_NEAR(r.Throughput(), 500.0, 5.0);
  EXPECT_EQ(server->requests(), 1000);
  EXPECT_EQ(r.latency.Count(), 1000u);
  EXPECT_LT(r.latency.Percentile(0.5), 20 * kMs);
}

TEST(LoadEngine, OpenLoopPoissonSendsExactlyTheSeededSchedule) {
  workload::PoissonArrivals schedule(300.0, 11);
  uint64_t want = 0;
  while (*schedule.Next() < absl::Seconds(1)) ++want;
  auto server = StartServer(Fast);
  EngineOptions o = BaseOptions(server->port());
  o.arrivals = std::make_unique<workload::PoissonArrivals>(300.0, 11);
  o.duration = absl::Seconds(1);
  o.threads = 2;  // arrivals are split between the workers, none lost
  EngineResult r = RunEngine(std::move(o));
  EXPECT_EQ(r.scheduled, want);
  EXPECT_EQ(r.sent, want);
  EXPECT_EQ(r.ok, want);
  EXPECT_EQ(server->requests(), static_cast<int64_t>(want));
}

// A server that answers in 5 ms, except that it stalls once for a second:
// anything that would be answered in [first + 2 s, first + 3 s) is answered at
// first + 3 s.
FakeBehaviour StallingServer() {
  auto first = std::make_shared<std::atomic<int64_t>>(-1);
  return [first](const FakeRequest& req) {
    int64_t expected = -1;
    first->compare_exchange_strong(expected, req.arrival_ns);
    const int64_t t0 = first->load();
    const int64_t stall_begin = t0 + 2000 * kMs, stall_end = t0 + 3000 * kMs;
    int64_t reply_at = req.arrival_ns + 5 * kMs;
    if (reply_at >= stall_begin && reply_at < stall_end) reply_at = stall_end;
    FakeReply r;
    r.delay_ns = reply_at - req.arrival_ns;
    return r;
  };
}

TEST(LoadEngine, OpenLoopChargesStallToRequestsScheduledDuringItButClosedLoopHidesIt) {
  EngineResult open, closed;
  {
    auto server = StartServer(StallingServer());
    EngineOptions o = BaseOptions(server->port());
    o.arrivals = std::make_unique<workload::ConstantArrivals>(200.0);
    o.duration = absl::Seconds(5);
    open = RunEngine(std::move(o));
  }
  {
    auto server = StartServer(StallingServer());
    EngineOptions o = BaseOptions(server->port());
    o.concurrency = 1;
    o.duration = absl::Seconds(5);
    closed = RunEngine(std::move(o));
  }
  // Open loop: 1000 requests, ~200 of them due during the stall, each charged
  // from its intended time: latencies spread evenly over (5 ms, 1 s]. The top
  // 1 % (10 requests) were due in the stall's first 50 ms: p99 ≈ 0.95 s, p90
  // (the 100th from the top) ≈ 0.5 s.
  EXPECT_EQ(open.ok, 1000u);
  EXPECT_GE(open.latency.Percentile(0.99), 900 * kMs);
  EXPECT_GE(open.latency.Percentile(0.90), 400 * kMs);
  EXPECT_LE(open.latency.Percentile(0.90), 600 * kMs);
  EXPECT_LT(open.latency.Percentile(0.50), 50 * kMs);
  EXPECT_GE(open.latency.Max(), 950 * kMs);
  // Closed loop: one request waited out the stall while no others were sent;
  // ~800 fast ones make p99 look healthy (coordinated omission).
  EXPECT_GE(closed.latency.Max(), 800 * kMs);  // ~1 s; slack for a loaded machine
  EXPECT_LT(closed.latency.Percentile(0.99), 50 * kMs);
  EXPECT_GT(closed.ok, 500u);
  EXPECT_LT(closed.ok, 1000u);
  EXPECT_GT(open.latency.Percentile(0.99), 10 * closed.latency.Percentile(0.99));
}

TEST(LoadEngine, TraceReplaySendsEveryRequestAtItsScaledTime) {
  // 400 arrivals over 4 s with irregular gaps and bursts of equal timestamps.
  std::string csv = "timestamp_s,tokens\n";
  double t = 0;
  for (int i = 0; i < 400; ++i) {
    if (i % 10 != 3) t += 0.002 + 0.018 * ((i * 37) % 11) / 10.0;
    csv += std::to_string(t) + ",1\n";
  }
  auto trace = workload::ParseTrace(csv, {});
  ASSERT_TRUE(trace.ok());
  workload::TraceReplayOptions replay;
  replay.time_scale = 0.5;  // twice as fast
  auto offsets = workload::ReplayOffsets(*trace, replay);
  ASSERT_TRUE(offsets.ok());
  auto list = std::make_shared<std::vector<absl::Duration>>();
  for (double s : *offsets) list->push_back(absl::Nanoseconds(std::llround(s * 1e9)));

  auto server = StartServer(Fast);
  // The engine reports when its own timer ran late (late_dispatches: > 5 ms
  // behind schedule), e.g. when a loaded CI machine does not give the process
  // the CPU. Timing is asserted on a run where the client kept to its
  // schedule; up to 4 attempts.
  EngineResult r;
  for (int attempt = 0; attempt < 4; ++attempt) {
    EngineOptions o = BaseOptions(server->port());
    o.arrivals = std::make_unique<workload::ListArrivals>(list);
    o.duration = absl::InfiniteDuration();
    o.record_requests = true;
    r = RunEngine(std::move(o));
    // Every request of the trace is sent exactly once, whatever the timing.
    ASSERT_EQ(r.records.size(), 400u);
    EXPECT_EQ(r.scheduled, 400u);
    EXPECT_EQ(r.ok, 400u);
    EXPECT_NEAR(r.window_s, absl::ToDoubleSeconds(list->back()), 1e-9);
    if (r.late_dispatches == 0) break;
  }
  EXPECT_EQ(server->requests() % 400, 0);
  if (r.late_dispatches > 0) {
    GTEST_SKIP() << "the machine starved the client in 4 attempts (" << r.late_dispatches
                 << " late dispatches, lag max " << r.dispatch_lag.Max() / 1e6 << " ms)";
  }
  // Stated tolerance (consistent with "on schedule" = no dispatch more than
  // 5 ms late): every send at or after its scaled trace time and within 10 ms
  // of it; 99 % of the 399 inter-arrival gaps within 5 ms of the trace's
  // scaled gap, and the median within 0.5 ms. (Without the time scale, gaps
  // would be off by 1-10 ms each, and the whole replay by 2 s.)
  std::vector<int64_t> gap_errors;
  for (size_t i = 0; i < r.records.size(); ++i) {
    const RequestRecord& rec = r.records[i];
    EXPECT_EQ(rec.intended_ns, absl::ToInt64Nanoseconds((*list)[i]));
    EXPECT_GE(rec.sent_ns, rec.intended_ns);
    EXPECT_LE(rec.sent_ns - rec.intended_ns, 10 * kMs);
    if (i > 0) {
      const int64_t want_gap = rec.intended_ns - r.records[i - 1].intended_ns;
      const int64_t got_gap = rec.sent_ns - r.records[i - 1].sent_ns;
      gap_errors.push_back(std::llabs(got_gap - want_gap));
    }
  }
  std::sort(gap_errors.begin(), gap_errors.end());
  ASSERT_EQ(gap_errors.size(), 399u);
  EXPECT_LE(gap_errors[199], kMs / 2);  // median
  EXPECT_LE(gap_errors[394], 5 * kMs);  // 99th percentile (395th of 399)
}

TEST(LoadEngine, ErrorsAreCountedByCause) {
  auto server = StartServer([](const FakeRequest& req) {
    FakeReply r;
    switch (req.index % 5) {
      case 0:
        r.status = 404;
        break;
      case 1:
        r.status = 503;
        break;
      case 2:
        r.no_reply = true;
        break;
      case 3:
        r.chunked = true;
        r.body = "chunked ok";
        break;
      case 4:
        r.close = true;
        break;  // fine, but the client must reconnect
    }
    return r;
  });
  EngineOptions o = BaseOptions(server->port());
  o.arrivals = std::make_unique<workload::ConstantArrivals>(100.0);
  o.duration = absl::InfiniteDuration();
  o.max_requests = 50;
  o.timeout = absl::Milliseconds(300);
  EngineResult r = RunEngine(std::move(o));
  EXPECT_EQ(r.scheduled, 50u);
  EXPECT_EQ(r.ok, 20u);
  EXPECT_EQ(r.failed, 30u);
  EXPECT_EQ(r.errors,
            (std::map<std::string, uint64_t>{{"http_404", 10}, {"http_503", 10}, {"timeout", 10}}));
  EXPECT_EQ(server->requests(), 50);
}

TEST(LoadEngine, ConnectionRefusedIsCountedPerRequestInOpenLoop) {
  EngineOptions o = BaseOptions(testing::UnusedPort());
  o.arrivals = std::make_unique<workload::ConstantArrivals>(200.0);
  o.duration = absl::InfiniteDuration();
  o.max_requests = 20;
  EngineResult r = RunEngine(std::move(o));
  EXPECT_EQ(r.ok, 0u);
  EXPECT_EQ(r.failed, 20u);
  EXPECT_EQ(r.errors, (std::map<std::string, uint64_t>{{"connect_refused", 20}}));
}

TEST(LoadEngine, ClosedLoopAgainstDeadServerBacksOffAndEnds) {
  EngineOptions o = BaseOptions(testing::UnusedPort());
  o.concurrency = 2;
  o.duration = absl::Milliseconds(300);
  o.reconnect_backoff = absl::Milliseconds(10);
  EngineResult r = RunEngine(std::move(o));
  EXPECT_EQ(r.ok, 0u);
  EXPECT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors.count("connect_refused"), 1u);
  EXPECT_GE(r.failed, 2u);
  EXPECT_LE(r.failed, 2u * 31);  // at most one attempt per backoff per connection
}

TEST(LoadEngine, ClosedLoopSendsExactlyMaxRequests) {
  auto server = StartServer(Fast);
  EngineOptions o = BaseOptions(server->port());
  o.concurrency = 4;
  o.threads = 2;
  o.duration = absl::InfiniteDuration();
  o.max_requests = 200;
  EngineResult r = RunEngine(std::move(o));
  EXPECT_EQ(r.ok, 200u);
  EXPECT_EQ(r.sent, 200u);
  EXPECT_EQ(server->requests(), 200);
  EXPECT_EQ(server->connections(), 4);  // keep-alive: one connection each
  EXPECT_EQ(r.service_time.Count(), 200u);
  EXPECT_GT(r.window_s, 0);
}

TEST(LoadEngine, WarmupIsExcludedFromResults) {
  auto server = StartServer(Fast);
  EngineOptions o = BaseOptions(server->port());
  o.arrivals = std::make_unique<workload::ConstantArrivals>(200.0);
  o.warmup = absl::Milliseconds(500);
  o.duration = absl::Seconds(1);
  EngineResult r = RunEngine(std::move(o));
  EXPECT_EQ(server->requests(), 300);
  EXPECT_EQ(r.scheduled, 200u);
  EXPECT_EQ(r.ok, 200u);
  EXPECT_DOUBLE_EQ(r.window_s, 1.0);
  ASSERT_GE(r.timeline.size(), 2u);
  EXPECT_EQ(r.timeline[0].scheduled, 200u);  // the timeline shows the warm-up too
  EXPECT_EQ(r.timeline[1].scheduled, 100u);
}

TEST(LoadEngine, RequestStopEndsEarlyWithResultsSoFar) {
  auto server = StartServer(Fast);
  EngineOptions o = BaseOptions(server->port());
  o.arrivals = std::make_unique<workload::ConstantArrivals>(100.0);
  o.duration = absl::Seconds(30);
  auto engine = LoadEngine::Create(std::move(o));
  ASSERT_TRUE(engine.ok());
  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(300));  // stands in for a user's Ctrl-C
    (*engine)->RequestStop();
  });
  EngineResult r = (*engine)->Run();
  stopper.join();
  EXPECT_TRUE(r.stopped);
  EXPECT_LT(r.window_s, 2.0);
  EXPECT_GT(r.ok, 10u);
  EXPECT_EQ(r.failed, 0u);
  LiveStats live = (*engine)->Live();
  EXPECT_EQ(live.ok, r.ok);
}

TEST(LoadEngine, CreateRejectsUnboundedOrAmbiguousRuns) {
  EngineOptions both = BaseOptions(1);
  both.concurrency = 1;
  both.arrivals = std::make_unique<workload::ConstantArrivals>(1.0);
  EXPECT_FALSE(LoadEngine::Create(std::move(both)).ok());
  EngineOptions none = BaseOptions(1);
  EXPECT_FALSE(LoadEngine::Create(std::move(none)).ok());
  EngineOptions unbounded = BaseOptions(1);
  unbounded.concurrency = 1;
  unbounded.duration = absl::InfiniteDuration();
  EXPECT_FALSE(LoadEngine::Create(std::move(unbounded)).ok());
}

}  // namespace
}  // namespace tide::loadgen
