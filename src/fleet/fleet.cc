#include "fleet/fleet.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fleet/local_scale_target.h"
#include "fleet/replica_supervisor.h"
#include "frontends/http/http_server.h"
#include "metrics/metric_names.h"
#include "metrics/metrics.h"
#include "metrics/prometheus_parser.h"
#include "spdlog/spdlog.h"

namespace tide::fleet {

namespace names = metrics::names;

namespace {

constexpr size_t kRecentDecisions = 10;

const autoscaler::MetricTarget* TargetOf(const autoscaler::MetricSpec& m) {
  if (m.resource) return &m.resource->target;
  if (m.container_resource) return &m.container_resource->target;
  if (m.pods) return &m.pods->target;
  if (m.object) return &m.object->target;
  if (m.external) return &m.external->target;
  return nullptr;
}

std::string NameOf(const autoscaler::MetricSpec& m) {
  if (m.resource) return m.resource->name;
  if (m.container_resource) return m.container_resource->name;
  if (m.pods) return m.pods->metric.name;
  if (m.object) return m.object->metric.name;
  if (m.external) return m.external->metric.name;
  return m.type;
}

std::string TargetText(const autoscaler::MetricTarget& t) {
  if (t.average_utilization) return absl::StrCat(*t.average_utilization, "%");
  if (t.average_value) return absl::StrCat(t.average_value->ToString(), " (avg)");
  if (t.value) return t.value->ToString();
  return "?";
}

}  // namespace

std::string DecisionReasonLabel(const autoscaler::Decision& d) {
  if (d.rescale) {
    size_t at = d.message.find("; reason: ");
    if (at != std::string::npos) {
      size_t start = at + 10;
      size_t end = d.message.find(" (proposal", start);
      return d.message.substr(start, end == std::string::npos ? end : end - start);
    }
  }
  return d.reason;
}

Fleet::Fleet(Options options) : options_(std::move(options)), hpa_(options_.hpa) {}

absl::StatusOr<std::unique_ptr<Fleet>> Fleet::Create(Options options) {
  if (options.clock == nullptr) options.clock = common::MonotonicClock::Get();
  if (options.scrape_interval <= absl::ZeroDuration() || options.tick <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("scrape interval and tick must be positive");
  }
  if (!options.metrics_source) {
    absl::Status s = CheckProducible(options.hpa);
    if (!s.ok()) return s;
  }
  std::unique_ptr<Fleet> f(new Fleet(std::move(options)));
  const Options& o = f->options_;
  f->registry_ = std::make_unique<metrics::Registry>();

  Router::Options ro;
  ro.host = o.host;
  ro.port = o.port;
  ro.activation_timeout = o.activation_timeout;
  ro.registry = f->registry_.get();
  // The replicas share the machine with the router: one inbound thread and
  // one upstream loop leave them the rest (bench/router_bench.sh on 2 cores:
  // 1 thread 28k req/s, 20 us CPU per request; 2 threads 17k req/s, 25 us).
  ro.threads = 1;
  absl::StatusOr<std::unique_ptr<Router>> router = Router::Create(std::move(ro));
  if (!router.ok()) return router.status();
  f->router_ = std::move(*router);

  Fleet* self = f.get();
  ReplicaSupervisor::Options so;
  so.tide_binary = o.tide_binary;
  so.serve_args = o.serve_args;
  so.log_dir = o.log_dir;
  so.termination_grace_period = o.termination_grace_period;
  so.probe_period = std::min(absl::Seconds(1), o.scrape_interval);
  so.clock = o.clock;
  so.on_removing = [self](const ReplicaInfo& r) {
    // Out of the Service first, then let what it is answering finish.
    {
      absl::MutexLock lock(&self->mu_);
      self->removing_.insert(r.name);
    }
    self->UpdateBackends();
    if (!self->router_->WaitIdle(r.name, self->options_.termination_grace_period)) {
      spdlog::warn("{}: requests still outstanding after {}; stopping it anyway", r.name,
                   absl::FormatDuration(self->options_.termination_grace_period));
    }
  };
  so.on_event = [self](const ReplicaEvent& e) {
    FleetEvent fe;
    fe.time = e.time;
    fe.kind = std::string(ReplicaEventName(e.type));
    fe.replica = e.replica.name;
    fe.message = e.message;
    if (e.type == ReplicaEventType::kStarted) {
      fe.message = absl::StrCat("pid ", e.replica.pid, fe.message.empty() ? "" : "; ", fe.message);
    }
    if (e.exit && !absl::StrContains(fe.message, e.exit->ToString()))
      fe.message = absl::StrCat(fe.message, fe.message.empty() ? "" : "; ", e.exit->ToString());
    if (self->options_.on_event) self->options_.on_event(fe);
  };
  absl::StatusOr<std::unique_ptr<ReplicaSupervisor>> sup = ReplicaSupervisor::Create(so);
  if (!sup.ok()) return sup.status();
  f->supervisor_ = std::move(*sup);
  f->target_ = std::make_unique<LocalScaleTarget>(f->supervisor_.get());

  MetricsSourceContext ctx;
  ctx.pods = [self] { return self->Pods(); };
  ctx.cpu_request = o.cpu_request;
  ctx.held_requests = [self] {
    absl::StatusOr<metrics::Exposition> e =
        metrics::ParsePrometheusText(self->registry_->RenderText());
    if (!e.ok()) return 0.0;
    return e->Value(names::kRouterHeldRequests).value_or(0.0);
  };
  if (o.metrics_source) {
    absl::StatusOr<std::unique_ptr<autoscaler::MetricsSource>> src = o.metrics_source(ctx);
    if (!src.ok()) return src.status();
    f->source_ = std::move(*src);
  } else {
    ScrapeMetricsSource::Options mo;
    mo.pods = ctx.pods;
    mo.cpu_request = o.cpu_request;
    mo.held_requests = ctx.held_requests;
    mo.cpu_window = o.scrape_interval;
    mo.latency_window = std::max(absl::Minutes(1), 2 * o.scrape_interval);
    absl::StatusOr<std::unique_ptr<ScrapeMetricsSource>> src = ScrapeMetricsSource::Create(mo);
    if (!src.ok()) return src.status();
    f->scrape_ = src->get();
    f->source_ = std::move(*src);
  }

  autoscaler::Controller::Options co;
  co.spec = o.hpa;
  co.config = o.controller;
  co.target = f->target_.get();
  co.metrics = f->source_.get();
  co.clock = o.clock;
  absl::StatusOr<std::unique_ptr<autoscaler::Controller>> c =
      autoscaler::Controller::Create(std::move(co));
  if (!c.ok()) return c.status();
  f->controller_ = std::move(*c);
  f->hpa_ = f->controller_->spec();
  // The Deployment's initial spec.replicas: minReplicas (0 starts scaled to
  // zero, and the first request is held until a replica is ready).
  absl::Status initial = f->supervisor_->SetDesired(f->hpa_.MinReplicasOrDefault());
  if (!initial.ok()) return initial;

  // The fleet's gauges and counters, then the metrics port.
  f->replicas_gauge_ =
      f->registry_->AddGauge(names::kFleetReplicas, "Replicas of the fleet by state", {"state"});
  f->decisions_counter_ = f->registry_->AddCounter(
      names::kFleetAutoscalerDecisionsTotal,
      "HPA reconciles by direction (up, down, none) and reason", {"direction", "reason"});
  http::HttpServer::Options mo;
  mo.host = o.host;
  mo.port = o.metrics_port;
  mo.threads = 1;
  mo.name = "fleet-metrics";
  metrics::Registry* registry = f->registry_.get();
  mo.handler = [registry, self](http::HttpRequest req, http::Responder respond) {
    http::HttpResponse resp;
    std::optional<http::HttpResponse> routed;
    if (req.path == "/metrics") {
      resp.content_type = "text/plain; version=0.0.4";
      resp.body = registry->RenderText();
    } else if (req.path == "/v2/health/live") {
      resp.body = "{\"live\":true}";
    } else if (self->options_.routes && (routed = self->options_.routes(req, *self))) {
      resp = std::move(*routed);
    } else {
      resp = http::ErrorResponse(404, "not found: " + req.path);
    }
    respond(std::move(resp));
  };
  absl::StatusOr<std::unique_ptr<http::HttpServer>> ms = http::HttpServer::Create(std::move(mo));
  if (!ms.ok()) return ms.status();
  f->metrics_server_ = std::move(*ms);
  f->PublishGauges();
  return f;
}

Fleet::~Fleet() { Shutdown(); }

std::string Fleet::RenderMetrics() const { return registry_->RenderText(); }

uint16_t Fleet::port() const { return router_->port(); }
uint16_t Fleet::metrics_port() const { return metrics_server_->port(); }

void Fleet::Start() {
  if (loop_.joinable()) return;
  loop_ = std::thread([this] { Loop(); });
}

std::vector<FleetPod> Fleet::Pods() const {
  std::vector<FleetPod> pods;
  for (const ReplicaInfo& r : supervisor_->Replicas()) {
    if (r.state == ReplicaState::kTerminating) continue;  // deletionTimestamp set: not listed
    FleetPod p;
    p.info.name = r.name;
    p.info.phase = r.state == ReplicaState::kFailed ? autoscaler::PodPhase::kFailed
                                                    : autoscaler::PodPhase::kRunning;
    if (r.state == ReplicaState::kStarting && r.http_port == 0) {
      p.info.phase = autoscaler::PodPhase::kPending;
    }
    p.info.ready = r.state == ReplicaState::kReady;
    if (r.start_time != absl::InfinitePast()) p.info.start_time = r.start_time;
    if (r.ready_time) p.info.ready_transition_time = *r.ready_time;
    p.http_port = static_cast<uint16_t>(r.http_port);
    p.metrics_port = static_cast<uint16_t>(r.metrics_port);
    pods.push_back(std::move(p));
  }
  return pods;
}

void Fleet::UpdateBackends() {
  std::vector<RouterBackend> backends;
  absl::MutexLock lock(&mu_);
  for (const ReplicaInfo& r : supervisor_->Replicas()) {
    if (r.state != ReplicaState::kReady || r.http_port == 0) continue;
    // Chosen for removal in the Tick under way: Replicas() still shows it
    // Ready until the Tick ends.
    if (removing_.contains(r.name)) continue;
    backends.push_back(RouterBackend{r.name, static_cast<uint16_t>(r.http_port)});
  }
  router_->SetBackends(std::move(backends));
}

void Fleet::Loop() {
  const common::Clock* clock = options_.clock;
  absl::Time next_scrape = clock->Now();
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) break;
    }
    absl::Time now = clock->Now();
    supervisor_->Tick(now);
    {
      // Replicas chosen for removal in this Tick are now Terminating (or gone).
      absl::MutexLock lock(&mu_);
      removing_.clear();
    }
    UpdateBackends();
    if (scrape_ != nullptr && now >= next_scrape) {
      scrape_->Scrape(now);
      next_scrape = now + options_.scrape_interval;
    }
    if (std::optional<autoscaler::ReconcileResult> r = controller_->RunIfDue()) OnDecision(*r);
    PublishGauges();

    absl::Time wake = now + options_.tick;
    if (scrape_ != nullptr) wake = std::min(wake, next_scrape);
    if (auto n = controller_->NextSyncTime()) wake = std::min(wake, *n);
    absl::MutexLock lock(&mu_);
    clock->WaitUntil(&mu_, absl::Condition(&stop_), wake);
    if (stop_) break;
  }
  // Drain: out of the router, outstanding requests answered, then SIGTERM.
  supervisor_->Shutdown();
}

void Fleet::OnDecision(const autoscaler::ReconcileResult& r) {
  auto* counter = decisions_counter_;
  FleetEvent e;
  e.time = r.time;
  e.kind = "decision";
  if (r.decision) {
    const autoscaler::Decision& d = *r.decision;
    e.from = d.current_replicas;
    e.to = d.desired_replicas;
    e.reason = d.reason;
    e.message = d.message;
    if (d.error && !d.error_message.empty() && !absl::StrContains(e.message, d.error_message)) {
      e.message += "; error: " + d.error_message;
    }
    const char* direction = !r.scaled                                 ? "none"
                            : d.desired_replicas > d.current_replicas ? "up"
                                                                      : "down";
    counter->WithLabels({direction, DecisionReasonLabel(d)})->Increment();
  } else {
    e.reason = "FailedReconcile";
    e.message = std::string(r.status.message());
    counter->WithLabels({"none", "FailedReconcile"})->Increment();
  }
  {
    absl::MutexLock lock(&mu_);
    last_ = r;
    next_sync_ = controller_->NextSyncTime();
    if (r.scaled) {
      decisions_.push_back(e);
      while (decisions_.size() > kRecentDecisions) decisions_.pop_front();
    }
  }
  if (options_.on_event) options_.on_event(e);
}

void Fleet::PublishGauges() {
  // Every tick: counts only (Status() also computes each pod's quantiles).
  int ready = 0, starting = 0, terminating = 0;
  for (const ReplicaInfo& r : supervisor_->Replicas()) {
    ready += r.state == ReplicaState::kReady;
    starting += r.state == ReplicaState::kStarting;
    terminating += r.state == ReplicaState::kTerminating;
  }
  auto* g = replicas_gauge_;
  g->WithLabels({"desired"})->Set(supervisor_->desired());
  g->WithLabels({"ready"})->Set(ready);
  g->WithLabels({"starting"})->Set(starting);
  g->WithLabels({"terminating"})->Set(terminating);
}

FleetStatus Fleet::Status() const {
  FleetStatus s;
  s.desired = supervisor_->desired();
  std::vector<RouterBackendStats> stats = router_->Stats();
  std::vector<PodScrapeView> views;
  if (scrape_ != nullptr) views = scrape_->View();
  for (const RouterBackendStats& b : stats) {
    s.router_requests += b.requests;
    s.router_errors += b.errors;
  }
  for (const ReplicaInfo& r : supervisor_->Replicas()) {
    switch (r.state) {
      case ReplicaState::kReady:
        ++s.ready;
        break;
      case ReplicaState::kTerminating:
        ++s.terminating;
        break;
      case ReplicaState::kStarting:
        ++s.starting;
        break;
      default:
        break;
    }
    FleetReplicaStatus rs;
    rs.replica = r;
    for (const auto& b : stats) {
      if (b.name == r.name) rs.outstanding = b.outstanding;
    }
    for (const auto& v : views) {
      if (v.name == r.name) rs.scraped = v;
    }
    s.replicas.push_back(std::move(rs));
  }
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < hpa_.metrics.size(); ++i) {
    const autoscaler::MetricSpec& m = hpa_.metrics[i];
    FleetMetricStatus ms;
    ms.description = m.Describe();
    ms.name = NameOf(m);
    if (const auto* t = TargetOf(m)) ms.target = TargetText(*t);
    if (last_ && last_->decision && last_->decision->metrics_evaluated &&
        i < last_->decision->metrics.size()) {
      const autoscaler::MetricStatus& st = last_->decision->metrics[i];
      if (!st.valid) {
        ms.error = st.error;
      } else if (st.utilization) {
        ms.current = absl::StrCat(*st.utilization, "%");
      } else if (st.usage) {
        ms.current = autoscaler::Quantity::FromMilli(*st.usage).ToString();
      }
    }
    s.metrics.push_back(std::move(ms));
  }
  s.recent_decisions = decisions_;
  if (last_) s.last_sync = last_->time;
  s.next_sync = next_sync_;
  return s;
}

void Fleet::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    stop_ = true;
  }
  if (loop_.joinable()) {
    loop_.join();
  } else {
    supervisor_->Shutdown();
  }
  router_->Shutdown(absl::Seconds(5));
  if (metrics_server_) metrics_server_->Stop();
}

}  // namespace tide::fleet
