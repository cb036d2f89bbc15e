// The fleet's loop on a ManualClock: the HPA syncs exactly every sync period
// of the clock, without the test sleeping for them. The replicas are /bin/true
// (they exit at once: the supervisor keeps restarting them) and the metrics
// come from a fake source, so nothing here depends on tide serve's timing.

#include "fleet/fleet.h"

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

// Every pod has 10 requests in flight (target 4 per pod).
class BusySource : public autoscaler::MetricsSource {
 public:
  absl::Status Observe(const autoscaler::HpaSpec&, absl::Time now,
                       autoscaler::Snapshot* snapshot) override {
    for (int i = 0; i < snapshot->current_replicas; ++i) {
      autoscaler::PodInfo p;
      p.name = "p" + std::to_string(i);
      p.ready = true;
      p.start_time = now - absl::Minutes(10);
      snapshot->pods.push_back(p);
      snapshot->metrics.pod_metrics["tide_inference_in_flight"][p.name] =
          autoscaler::Sample{10'000, now, absl::ZeroDuration()};
    }
    return absl::OkStatus();
  }
};

TEST(FleetTest, SyncsEverySyncPeriodOfTheInjectedClock) {
  common::ManualClock clock(absl::FromUnixSeconds(1000));
  Fleet::Options o;
  o.tide_binary = "/bin/true";
  o.host = "127.0.0.1";
  o.port = 0;
  o.metrics_port = 0;
  o.hpa.max_replicas = 8;
  o.hpa.metrics.resize(1);
  o.hpa.metrics[0].type = "Pods";
  o.hpa.metrics[0].pods = autoscaler::MetricSpec::PodsSource{
      {"tide_inference_in_flight", ""},
      {"AverageValue", std::nullopt, autoscaler::Quantity::FromInt(4), std::nullopt}};
  o.controller.sync_period = absl::Seconds(15);
  o.termination_grace_period = absl::ZeroDuration();
  o.clock = &clock;
  o.metrics_source = [](const MetricsSourceContext&)
      -> absl::StatusOr<std::unique_ptr<autoscaler::MetricsSource>> {
    return std::make_unique<BusySource>();
  };
  absl::Mutex mu;
  std::vector<std::pair<absl::Time, int>> decisions;
  o.on_event = [&](const FleetEvent& e) {
    if (e.kind != "decision") return;
    absl::MutexLock lock(&mu);
    decisions.emplace_back(e.time, e.to);
  };
  auto fleet = Fleet::Create(std::move(o));
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  (*fleet)->Start();
  auto decided = [&] {
    absl::MutexLock lock(&mu);
    return decisions;
  };
  // The first sync is due at once: 1 pod at 10 in flight, target 4 → 3.
  ASSERT_TRUE(clock.AwaitWaiters(1, absl::Seconds(10)));
  ASSERT_EQ(decided().size(), 1u);
  EXPECT_EQ(decided()[0], std::make_pair(absl::FromUnixSeconds(1000), 3));
  EXPECT_EQ((*fleet)->Status().desired, 3);
  // Nothing more until 15 s of the clock have passed.
  for (int i = 0; i < 299; ++i) {
    clock.Advance(absl::Milliseconds(50));
    ASSERT_TRUE(clock.AwaitWaiters(1, absl::Seconds(10)));
  }
  EXPECT_EQ(decided().size(), 1u);
  clock.Advance(absl::Milliseconds(50));
  ASSERT_TRUE(clock.AwaitWaiters(1, absl::Seconds(10)));
  ASSERT_EQ(decided().size(), 2u);
  // 3 pods at 10 → ceil(3 * 10 / 4) = 8, limited without a behavior block
  // to max(2 * 3, 4) = 6 (scaleUpLimitFactor, as upstream).
  EXPECT_EQ(decided()[1], std::make_pair(absl::FromUnixSeconds(1015), 6));
  (*fleet)->Shutdown();
}

}  // namespace
}  // namespace tide::fleet
