#pragma once

// The fleet of `tide up`: the ReplicaSet (ReplicaSupervisor), the Service
// (Router), the metrics pipeline (a MetricsSource: the embedded scraper or a
// Prometheus server) and the HPA (the autoscaler's Controller, unchanged),
// driven by one loop thread that waits on the injected Clock:
//   every tick        supervisor Tick; router backends = the ready replicas
//   every scrape      ScrapeMetricsSource::Scrape (the embedded source only)
//   every sync period Controller::RunIfDue → SetDesired on the supervisor
// A replica chosen for removal is taken out of the router, then its
// outstanding requests are waited for (Router::WaitIdle, up to the grace
// period) before the supervisor sends SIGTERM: scale-down loses no request.
// The fleet's own metrics (tide_fleet_replicas{state}, tide_fleet_autoscaler_
// decisions_total{direction,reason}) and the router's are served on
// metrics_port at /metrics.
//
// Thread safety: Start, Shutdown and the destructor from one thread; Status()
// and the accessors from any thread. on_event runs on the loop thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "autoscaler/controller.h"
#include "autoscaler/hpa_spec.h"
#include "autoscaler/quantity.h"
#include "common/clock.h"
#include "fleet/fleet_pods.h"
#include "fleet/replica.h"
#include "fleet/router.h"
#include "fleet/scrape_source.h"
#include "frontends/http/http_types.h"
#include "metrics/metrics.h"

namespace tide::http {
class HttpServer;
}

namespace tide::fleet {

class ReplicaSupervisor;
class LocalScaleTarget;
class Fleet;

// More routes on the fleet's metrics port (the dashboard: fleet/dashboard_api.h),
// tried after the fleet's own; nullopt: not one of them (404). Runs on the
// metrics server's thread, so it may only call the fleet's const accessors.
using FleetRoutes =
    std::function<std::optional<http::HttpResponse>(const http::HttpRequest&, const Fleet&)>;

// What a metric-source factory is given.
struct MetricsSourceContext {
  PodLister pods;
  autoscaler::Quantity cpu_request;
  // Requests the router holds for want of a ready replica (the activator).
  std::function<double()> held_requests;
};
using MetricsSourceFactory =
    std::function<absl::StatusOr<std::unique_ptr<autoscaler::MetricsSource>>(
        const MetricsSourceContext&)>;

// One line of the fleet's story: an HPA decision or a replica event.
struct FleetEvent {
  absl::Time time;
  std::string kind;     // "decision", or a ReplicaEventName: "started", "ready", "died", ...
  std::string replica;  // replica events
  int32_t from = 0;     // decisions: replicas before
  int32_t to = 0;       // decisions: replicas after
  std::string reason;   // decisions: machine reason (ScaleUpLimit, DesiredWithinRange, ...)
  std::string message;  // kubectl-describe words / the replica event's detail
};

// The reason label of a decision: for a rescale, the words after "reason: "
// in its message ("cpu resource utilization (percentage of request) above
// target", "All metrics below target"); else its machine reason.
std::string DecisionReasonLabel(const autoscaler::Decision& d);

struct FleetReplicaStatus {
  ReplicaInfo replica;
  int outstanding = 0;  // at the router
  std::optional<PodScrapeView> scraped;
};

struct FleetMetricStatus {
  std::string description;  // MetricSpec::Describe()
  std::string name;         // the metric's name ("cpu", "tide_inference_queue_depth", ...)
  std::string target;       // "50%", "4", "200m"
  std::optional<std::string> current;  // as the HPA saw it at the last sync
  std::string error;
};

struct FleetStatus {
  int desired = 0;
  int ready = 0;
  int starting = 0;
  int terminating = 0;
  std::vector<FleetReplicaStatus> replicas;
  std::vector<FleetMetricStatus> metrics;
  std::deque<FleetEvent> recent_decisions;  // rescales, newest last (at most 10)
  std::optional<absl::Time> last_sync;
  std::optional<absl::Time> next_sync;
  uint64_t router_requests = 0;  // answered by replicas, summed over those the router knows
  uint64_t router_errors = 0;
};

class Fleet {
 public:
  struct Options {
    std::string tide_binary;
    std::vector<std::string> serve_args;      // e.g. {"--model-repository", dir}
    std::string log_dir;                      // replicas' logs; empty: discarded
    autoscaler::HpaSpec hpa;                  // as parsed; validated by Create
    autoscaler::ControllerConfig controller;  // sync period, stabilization flags, ...
    std::string host = "0.0.0.0";
    uint16_t port = 8000;  // 0: any free port
    uint16_t metrics_port = 8002;
    absl::Duration scrape_interval = absl::Seconds(15);
    absl::Duration termination_grace_period = absl::Seconds(30);
    absl::Duration activation_timeout = absl::Seconds(30);
    absl::Duration tick = absl::Milliseconds(50);  // supervisor and router refresh
    autoscaler::Quantity cpu_request = autoscaler::Quantity::FromMilli(500);
    // Null: the embedded scrape source.
    MetricsSourceFactory metrics_source;
    const common::Clock* clock = nullptr;  // not owned; default MonotonicClock
    std::function<void(const FleetEvent&)> on_event;
    FleetRoutes routes;  // may be empty
  };

  // InvalidArgument for an HPA that does not validate, a metric the scrape
  // source cannot produce, or bad options; the router's and supervisor's
  // errors otherwise. Listens (router and metrics) but starts no replica.
  static absl::StatusOr<std::unique_ptr<Fleet>> Create(Options options);
  ~Fleet();  // Shutdown()

  uint16_t port() const;
  uint16_t metrics_port() const;

  // Starts the loop thread (the first sync is due at once).
  void Start();
  // Stops the loop, drains and removes every replica (router first), stops
  // the router and the metrics server. Idempotent.
  void Shutdown();

  FleetStatus Status() const;
  // The fleet's and the router's metrics, as served on metrics_port.
  std::string RenderMetrics() const;
  const autoscaler::HpaSpec& hpa() const { return hpa_; }
  // The replicas as the metric sources see them (not the Terminating ones).
  std::vector<FleetPod> Pods() const;

 private:
  explicit Fleet(Options options);
  void Loop();
  void UpdateBackends();
  void OnDecision(const autoscaler::ReconcileResult& r);
  void PublishGauges();

  Options options_;
  autoscaler::HpaSpec hpa_;
  std::unique_ptr<metrics::Registry> registry_;
  metrics::Family<metrics::Gauge>* replicas_gauge_ = nullptr;
  metrics::Family<metrics::Counter>* decisions_counter_ = nullptr;
  std::unique_ptr<Router> router_;
  std::unique_ptr<http::HttpServer> metrics_server_;
  std::unique_ptr<ReplicaSupervisor> supervisor_;
  std::unique_ptr<LocalScaleTarget> target_;
  std::unique_ptr<autoscaler::MetricsSource> source_;
  ScrapeMetricsSource* scrape_ = nullptr;  // source_ when it is the embedded one
  std::unique_ptr<autoscaler::Controller> controller_;

  std::thread loop_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // Chosen for removal during the Tick under way (on_removing).
  absl::flat_hash_set<std::string> removing_ ABSL_GUARDED_BY(mu_);
  std::optional<autoscaler::ReconcileResult> last_ ABSL_GUARDED_BY(mu_);
  std::deque<FleetEvent> decisions_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> next_sync_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tide::fleet
