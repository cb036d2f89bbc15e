// The router's front half: requests in from the transport, the choice of a
// replica (power of two choices on outstanding), the activation hold, the
// metrics and the public API. The upstream half is router_upstream.cc.

#include "fleet/router.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "fleet/router_impl.h"
#include "metrics/metric_names.h"

namespace tide::fleet {
namespace {

using router_internal::Backend;
using router_internal::Exchange;
using router_internal::Loop;
using router_internal::NowNs;

// Request headers that belong to one connection, not to the request.
bool IsHopByHop(std::string_view name) {
  static constexpr std::string_view kHop[] = {"connection",
                                              "keep-alive",
                                              "proxy-connection",
                                              "transfer-encoding",
                                              "te",
                                              "trailer",
                                              "upgrade",
                                              "host",
                                              "content-length",
                                              "expect",
                                              "proxy-authorization"};
  return std::find(std::begin(kHop), std::end(kHop), name) != std::end(kHop);
}

}  // namespace

// The model a request addresses, for metric labels: the segment after
// /v2/models/ ("" for anything else and for /v2/models/stats).
std::string RouterModelLabel(std::string_view path) {
  constexpr std::string_view kPrefix = "/v2/models/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return "";
  std::string_view rest = path.substr(kPrefix.size());
  size_t slash = rest.find('/');
  std::string_view model = rest.substr(0, slash);
  if (slash == std::string_view::npos && model == "stats") return "";
  return std::string(model);
}

void Router::Impl::Handle(http::HttpRequest req, http::Responder respond) {
  if ((req.method == "GET" || req.method == "HEAD") && req.path == "/v2/health/ready") {
    bool ready;
    {
      absl::MutexLock lock(&mu);
      ready = !set.empty();
    }
    http::HttpResponse r;
    r.status = ready ? 200 : 503;
    r.body = absl::StrCat("{\"ready\":", ready ? "true" : "false", "}");
    return respond(std::move(r));
  }
  if ((req.method == "GET" || req.method == "HEAD") && req.path == "/v2/health/live") {
    http::HttpResponse r;
    r.body = "{\"live\":true}";
    return respond(std::move(r));
  }
  auto ex = std::make_unique<Exchange>();
  ex->start_ns = NowNs();
  ex->model = RouterModelLabel(req.path);
  ex->is_head = req.method == "HEAD";
  std::string& h = ex->head;
  h.reserve(256);
  absl::StrAppend(&h, req.method, " ", req.target, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& [k, v] : req.headers) {
    if (!IsHopByHop(k)) absl::StrAppend(&h, k, ": ", v, "\r\n");
  }
  bool bodyless = req.method == "GET" || req.method == "HEAD" || req.method == "DELETE" ||
                  req.method == "OPTIONS";
  if (!req.body.empty() || !bodyless)
    absl::StrAppend(&h, "Content-Length: ", req.body.size(), "\r\n");
  h += "\r\n";
  ex->body = std::move(req.body);
  ex->respond = std::move(respond);
  Dispatch(std::move(ex));
}

// Sends `ex` to a replica, holds it when none is ready, or answers it.
void Router::Impl::Dispatch(std::unique_ptr<Exchange> ex) {
  std::shared_ptr<Backend> b;
  {
    absl::MutexLock lock(&mu);
    if (set.empty()) {
      if (!shutting_down) {
        ex->hold_deadline_ns = NowNs() + activation_timeout_ns;
        held.push_back(std::move(ex));
        held_gauge->Set(static_cast<double>(held.size()));
        return;
      }
    } else {
      b = Pick(ex->tried);
      if (b) {
        b->outstanding.fetch_add(1, std::memory_order_relaxed);
        b->outstanding_gauge->Add(1);
      }
    }
  }
  if (!b) {
    return Answer(*ex, ex->tried.empty()
                           ? http::ErrorResponse(503, "the router is shutting down", 1)
                           : http::ErrorResponse(
                                 503, "no ready replica accepted the connection; retry later", 1));
  }
  ex->backend = std::move(b);
  Loop& loop = *loops[next_loop.fetch_add(1, std::memory_order_relaxed) % loops.size()];
  Post(loop, std::move(ex));
}

// Power of two choices on outstanding requests, among the replicas in the
// set that have not refused this request already.
std::shared_ptr<Backend> Router::Impl::Pick(const std::vector<std::shared_ptr<Backend>>& tried) {
  const std::vector<std::shared_ptr<Backend>>* from = &set;
  std::vector<std::shared_ptr<Backend>> rest;
  if (!tried.empty()) {
    for (const auto& b : set) {
      if (std::find(tried.begin(), tried.end(), b) == tried.end()) rest.push_back(b);
    }
    from = &rest;
  }
  size_t n = from->size();
  if (n == 0) return nullptr;
  if (n == 1) return (*from)[0];
  size_t i = rng() % n;
  size_t j = rng() % (n - 1);
  if (j >= i) ++j;
  const auto& a = (*from)[i];
  const auto& c = (*from)[j];
  return c->outstanding.load(std::memory_order_relaxed) <
                 a->outstanding.load(std::memory_order_relaxed)
             ? c
             : a;
}

void Router::Impl::Post(Loop& loop, std::unique_ptr<Exchange> ex) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(loop.inbox_mu);
    if (loop.closed) {
      wake = false;
    } else {
      loop.inbox.push_back(std::move(ex));
      wake = loop.sleeping;
      loop.sleeping = false;
    }
  }
  if (ex) return Release(*ex, http::ErrorResponse(503, "the router is shutting down", 1), false);
  if (wake) {
    uint64_t one = 1;
    ssize_t n = ::write(loop.evfd, &one, sizeof(one));
    (void)n;
  }
}

// Answers a request no replica has (held, refused, shutting down).
void Router::Impl::Answer(Exchange& ex, http::HttpResponse r) {
  Record(ex, r.status);
  ex.respond(std::move(r));
}

// Answers a request that was sent to ex.backend: it is no longer
// outstanding there. `answered`: the replica answered (else it failed).
void Router::Impl::Release(Exchange& ex, http::HttpResponse r, bool answered) {
  Backend& b = *ex.backend;
  if (answered) b.requests.fetch_add(1, std::memory_order_relaxed);
  if (!answered || r.status >= 500) b.errors.fetch_add(1, std::memory_order_relaxed);
  r.headers.emplace_back("X-Tide-Replica", b.name);
  Unload(b);
  Answer(ex, std::move(r));
}

void Router::Impl::Unload(Backend& b) {
  b.outstanding_gauge->Add(-1);
  if (b.outstanding.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    absl::MutexLock lock(&idle_mu);
    idle_cv.SignalAll();
  }
}

void Router::Impl::Record(const Exchange& ex, int status) {
  const std::string& model = status == 404 ? std::string() : ex.model;
  requests_total->WithLabels({model, std::to_string(status)})->Increment();
  duration->WithLabels({model})->Observe(static_cast<double>(NowNs() - ex.start_ns) * 1e-9);
}

// Held requests past the activation timeout get 503 + Retry-After.
void Router::Impl::ExpireHeld(int64_t now) {
  std::vector<std::unique_ptr<Exchange>> expired;
  {
    absl::MutexLock lock(&mu);
    while (!held.empty() && held.front()->hold_deadline_ns <= now) {
      expired.push_back(std::move(held.front()));
      held.pop_front();
    }
    if (!expired.empty()) held_gauge->Set(static_cast<double>(held.size()));
  }
  for (auto& ex : expired) {
    Answer(*ex, http::ErrorResponse(
                    503,
                    absl::StrCat("no replica became ready within the activation timeout of ",
                                 absl::FormatDuration(options.activation_timeout), "; retry later"),
                    1));
  }
}

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Router::~Router() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<Router>> Router::Create(Options options) {
  if (options.threads < 1) return absl::InvalidArgumentError("router threads must be at least 1");
  if (options.activation_timeout <= absl::ZeroDuration() ||
      options.upstream_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("router timeouts must be positive");
  }
  auto impl = std::make_unique<Impl>();
  Impl* p = impl.get();
  p->options = options;
  p->rng.seed(options.seed);
  metrics::Registry* reg = options.registry;
  if (!reg) {
    p->own_registry = std::make_unique<metrics::Registry>();
    reg = p->own_registry.get();
  }
  namespace n = metrics::names;
  p->requests_total = reg->AddCounter(n::kRouterRequestsTotal,
                                      "Requests answered by the router, by model and status code.",
                                      {"model", "code"});
  p->duration = reg->AddHistogram(n::kRouterRequestDurationSeconds,
                                  "Seconds from the router reading a request to answering it.",
                                  {"model"}, metrics::LatencyBucketsSeconds());
  p->outstanding = reg->AddGauge(n::kRouterOutstanding,
                                 "Requests sent to a replica and not yet answered.", {"replica"});
  p->retries = reg->AddCounter(n::kRouterRetriesTotal,
                               "Requests sent again to another replica because they were never "
                               "delivered to the first.")
                   ->NoLabels();
  p->held_gauge =
      reg->AddGauge(n::kRouterHeldRequests, "Requests held while no replica is ready (activation).")
          ->NoLabels();
  p->upstream_timeout_ns = absl::ToInt64Nanoseconds(options.upstream_timeout);
  p->activation_timeout_ns = absl::ToInt64Nanoseconds(options.activation_timeout);
  p->sweep_ns = std::clamp<int64_t>(std::min(p->upstream_timeout_ns, p->activation_timeout_ns) / 20,
                                    1'000'000, 50'000'000);

  for (int i = 0; i < options.threads; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->handles_held = i == 0;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epfd < 0 || loop->evfd < 0) {
      return absl::InternalError(absl::StrCat("router: epoll/eventfd: ", std::strerror(errno)));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = loop->evfd;
    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->evfd, &ev);
    p->loops.push_back(std::move(loop));
  }
  for (auto& loop : p->loops) loop->thread = std::thread([p, l = loop.get()] { p->Run(l); });

  http::HttpServer::Options so;
  so.host = options.host;
  so.port = options.port;
  so.threads = options.threads;
  so.max_body_bytes = options.max_body_bytes;
  so.max_connections = options.max_connections;
  so.reserved_paths = {"/v2/health/ready", "/v2/health/live"};
  so.name = "router";
  so.handler = [p](http::HttpRequest req, http::Responder respond) {
    p->Handle(std::move(req), std::move(respond));
  };
  auto server = http::HttpServer::Create(std::move(so));
  std::unique_ptr<Router> router(new Router(std::move(impl)));
  if (!server.ok()) {
    router->Shutdown(absl::ZeroDuration());
    return server.status();
  }
  router->impl_->server = std::move(*server);
  return router;
}

uint16_t Router::port() const { return impl_->server ? impl_->server->port() : 0; }

void Router::SetBackends(std::vector<RouterBackend> backends) {
  Impl& p = *impl_;
  std::deque<std::unique_ptr<Exchange>> release;
  {
    absl::MutexLock lock(&p.mu);
    std::vector<std::shared_ptr<Backend>> next;
    for (const RouterBackend& rb : backends) {
      bool dup =
          std::any_of(next.begin(), next.end(), [&](const auto& b) { return b->name == rb.name; });
      if (dup) continue;
      std::shared_ptr<Backend> found;
      for (const auto& b : p.all) {
        if (b->name == rb.name && b->port == rb.port) found = b;
      }
      if (!found) {
        found = std::make_shared<Backend>(rb.name, rb.port);
        found->outstanding_gauge = p.outstanding->WithLabels({rb.name});
        p.all.push_back(found);
      }
      found->removed.store(false, std::memory_order_relaxed);
      next.push_back(std::move(found));
    }
    for (const auto& b : p.all) {
      bool in = std::find(next.begin(), next.end(), b) != next.end();
      if (!in) b->removed.store(true, std::memory_order_relaxed);
    }
    p.set = std::move(next);
    p.all.erase(std::remove_if(p.all.begin(), p.all.end(),
                               [](const auto& b) {
                                 return b->removed.load(std::memory_order_relaxed) &&
                                        b->outstanding.load(std::memory_order_relaxed) == 0;
                               }),
                p.all.end());
    if (!p.set.empty()) {
      release.swap(p.held);
      p.held_gauge->Set(0);
    }
  }
  for (auto& ex : release) p.Dispatch(std::move(ex));
}

std::vector<RouterBackendStats> Router::Stats() const {
  Impl& p = *impl_;
  absl::MutexLock lock(&p.mu);
  std::vector<RouterBackendStats> out;
  for (const auto& b : p.all) {
    int outstanding = b->outstanding.load(std::memory_order_relaxed);
    if (b->removed.load(std::memory_order_relaxed) && outstanding == 0) continue;
    out.push_back({b->name, b->port, outstanding, b->requests.load(std::memory_order_relaxed),
                   b->errors.load(std::memory_order_relaxed)});
  }
  return out;
}

bool Router::WaitIdle(const std::string& name, absl::Duration timeout) {
  Impl& p = *impl_;
  std::shared_ptr<Backend> b;
  {
    absl::MutexLock lock(&p.mu);
    for (const auto& x : p.all) {
      if (x->name == name) b = x;
    }
  }
  if (!b) return true;
  absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&p.idle_mu);
  while (b->outstanding.load(std::memory_order_acquire) > 0) {
    if (p.idle_cv.WaitWithDeadline(&p.idle_mu, deadline) &&
        b->outstanding.load(std::memory_order_acquire) > 0) {
      return false;
    }
  }
  return true;
}

int Router::HeldRequests() const {
  absl::MutexLock lock(&impl_->mu);
  return static_cast<int>(impl_->held.size());
}

void Router::Shutdown(absl::Duration timeout) {
  Impl& p = *impl_;
  {
    absl::MutexLock lock(&p.shutdown_mu);
    if (p.shut_down) return;
    p.shut_down = true;
  }
  std::deque<std::unique_ptr<Exchange>> held;
  {
    absl::MutexLock lock(&p.mu);
    p.shutting_down = true;
    held.swap(p.held);
    p.held_gauge->Set(0);
  }
  for (auto& ex : held) {
    p.Answer(*ex, http::ErrorResponse(503, "the router is shutting down", 1));
  }
  if (p.server) {
    p.server->BeginDrain();
    p.server->Shutdown(timeout);
  }
  for (auto& loop : p.loops) {
    loop->stop.store(true, std::memory_order_release);
    uint64_t one = 1;
    ssize_t n = ::write(loop->evfd, &one, sizeof(one));
    (void)n;
  }
  for (auto& loop : p.loops) {
    if (loop->thread.joinable()) loop->thread.join();
    ::close(loop->epfd);
    ::close(loop->evfd);
  }
}

}  // namespace tide::fleet
