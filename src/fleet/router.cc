#include "fleet/router.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "fleet/upstream_parser.h"
#include "frontends/http/http_server.h"
#include "metrics/metric_names.h"
#include "metrics/metrics.h"
#include "spdlog/spdlog.h"

namespace tide::fleet {
namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A replica as the router sees it. Shared by the set, the connections to it
// and the requests sent to it, so one taken out lives until they are done.
struct Backend {
  Backend(std::string n, uint16_t p) : name(std::move(n)), port(p) {}
  const std::string name;
  const uint16_t port;
  std::atomic<int> outstanding{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<bool> removed{false};
  metrics::Gauge* outstanding_gauge = nullptr;
};

// One client request on its way through the router.
struct Exchange {
  std::string head;  // request line and headers, as sent to a replica
  std::string body;  // as the client sent it (de-chunked), never re-encoded
  bool is_head = false;
  http::Responder respond;
  std::string model;  // metric label
  int64_t start_ns = 0;
  int64_t hold_deadline_ns = 0;
  std::shared_ptr<Backend> backend;   // where it is being sent
  std::vector<const Backend*> tried;  // refused it before any byte was delivered
};

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

// Response headers the transport writes itself.
bool IsOwnResponseHeader(std::string_view name) {
  static constexpr std::string_view kOwn[] = {"connection",     "keep-alive",   "transfer-encoding",
                                              "content-length", "content-type", "server",
                                              "trailer",        "upgrade"};
  return std::find(std::begin(kOwn), std::end(kOwn), name) != std::end(kOwn);
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

namespace {

// One connection to a replica, owned by one upstream loop.
struct UpConn {
  enum class State { kConnecting, kWriting, kReading, kIdle };
  int fd = -1;
  std::shared_ptr<Backend> backend;
  State state = State::kConnecting;
  std::unique_ptr<Exchange> ex;
  size_t written = 0;
  std::string in;  // response bytes the parser has not taken yet
  std::unique_ptr<ResponseParser> parser;
  int64_t deadline_ns = 0;
  int64_t idle_since_ns = 0;
};

// An epoll thread that owns connections to the replicas: it sends the
// requests posted to it and answers them from the replicas' responses.
struct Loop {
  int epfd = -1;
  int evfd = -1;
  std::thread thread;
  bool handles_held = false;  // this loop expires held requests

  std::mutex inbox_mu;
  std::vector<std::unique_ptr<Exchange>> inbox;  // guarded by inbox_mu
  bool sleeping = false;                         // guarded by inbox_mu
  bool closed = false;                           // guarded by inbox_mu
  std::atomic<bool> stop{false};

  // Loop thread only.
  std::unordered_map<int, std::unique_ptr<UpConn>> conns;  // by fd
  std::unordered_map<const Backend*, std::vector<UpConn*>> idle;
};

}  // namespace

struct Router::Impl {
  Options options;
  std::unique_ptr<metrics::Registry> own_registry;
  metrics::Family<metrics::Counter>* requests_total = nullptr;
  metrics::Family<metrics::Histogram>* duration = nullptr;
  metrics::Family<metrics::Gauge>* outstanding = nullptr;
  metrics::Counter* retries = nullptr;
  metrics::Gauge* held_gauge = nullptr;
  int64_t upstream_timeout_ns = 0;
  int64_t activation_timeout_ns = 0;
  int64_t sweep_ns = 0;

  std::unique_ptr<http::HttpServer> server;
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<uint32_t> next_loop{0};

  mutable absl::Mutex mu;
  std::vector<std::shared_ptr<Backend>> set ABSL_GUARDED_BY(mu);  // receiving
  std::vector<std::shared_ptr<Backend>> all ABSL_GUARDED_BY(mu);  // the set and those draining
  std::deque<std::unique_ptr<Exchange>> held ABSL_GUARDED_BY(mu);
  std::mt19937_64 rng ABSL_GUARDED_BY(mu);
  bool shutting_down ABSL_GUARDED_BY(mu) = false;

  absl::Mutex idle_mu;
  absl::CondVar idle_cv;

  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;

  // --- any thread --------------------------------------------------------

  void Handle(http::HttpRequest req, http::Responder respond) {
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
  void Dispatch(std::unique_ptr<Exchange> ex) {
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
      return Answer(*ex,
                    ex->tried.empty()
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
  std::shared_ptr<Backend> Pick(const std::vector<const Backend*>& tried)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const std::vector<std::shared_ptr<Backend>>* from = &set;
    std::vector<std::shared_ptr<Backend>> rest;
    if (!tried.empty()) {
      for (const auto& b : set) {
        if (std::find(tried.begin(), tried.end(), b.get()) == tried.end()) rest.push_back(b);
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

  void Post(Loop& loop, std::unique_ptr<Exchange> ex) {
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
  void Answer(Exchange& ex, http::HttpResponse r) {
    Record(ex, r.status);
    ex.respond(std::move(r));
  }

  // Answers a request that was sent to ex.backend: it is no longer
  // outstanding there. `answered`: the replica answered (else it failed).
  void Release(Exchange& ex, http::HttpResponse r, bool answered) {
    Backend& b = *ex.backend;
    if (answered) b.requests.fetch_add(1, std::memory_order_relaxed);
    if (!answered || r.status >= 500) b.errors.fetch_add(1, std::memory_order_relaxed);
    r.headers.emplace_back("X-Tide-Replica", b.name);
    Unload(b);
    Answer(ex, std::move(r));
  }

  void Unload(Backend& b) {
    b.outstanding_gauge->Add(-1);
    if (b.outstanding.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      absl::MutexLock lock(&idle_mu);
      idle_cv.SignalAll();
    }
  }

  void Record(const Exchange& ex, int status) {
    const std::string& model = status == 404 ? std::string() : ex.model;
    requests_total->WithLabels({model, std::to_string(status)})->Increment();
    duration->WithLabels({model})->Observe(static_cast<double>(NowNs() - ex.start_ns) * 1e-9);
  }

  // Held requests past the activation timeout get 503 + Retry-After.
  void ExpireHeld(int64_t now) {
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
      Answer(*ex,
             http::ErrorResponse(
                 503,
                 absl::StrCat("no replica became ready within the activation timeout of ",
                              absl::FormatDuration(options.activation_timeout), "; retry later"),
                 1));
    }
  }

  // --- upstream loop thread ------------------------------------------------

  void Run(Loop* loop) {
    pthread_setname_np(pthread_self(), "tide-router");
    epoll_event events[128];
    std::vector<std::unique_ptr<Exchange>> work;
    int64_t next_sweep = NowNs() + sweep_ns;
    while (!loop->stop.load(std::memory_order_acquire)) {
      int64_t now = NowNs();
      int timeout_ms =
          static_cast<int>(std::max<int64_t>(0, (next_sweep - now + 999'999) / 1'000'000));
      {
        std::lock_guard<std::mutex> lock(loop->inbox_mu);
        if (loop->inbox.empty()) {
          loop->sleeping = true;
        } else {
          timeout_ms = 0;
        }
      }
      int n = epoll_wait(loop->epfd, events, 128, timeout_ms);
      {
        std::lock_guard<std::mutex> lock(loop->inbox_mu);
        loop->sleeping = false;
        work.swap(loop->inbox);
      }
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == loop->evfd) {
          uint64_t v;
          ssize_t r = ::read(loop->evfd, &v, sizeof(v));
          (void)r;
          continue;
        }
        auto it = loop->conns.find(fd);
        if (it != loop->conns.end()) OnEvent(loop, it->second.get(), events[i].events);
      }
      for (auto& ex : work) Start(loop, std::move(ex));
      work.clear();
      now = NowNs();
      if (now >= next_sweep) {
        Sweep(loop, now);
        next_sweep = now + sweep_ns;
      }
    }
    // Stopped: what is left is answered (the transport drops answers to
    // connections it has closed) and every connection closed.
    {
      std::lock_guard<std::mutex> lock(loop->inbox_mu);
      loop->closed = true;
      work.swap(loop->inbox);
    }
    for (auto& ex : work) {
      Release(*ex, http::ErrorResponse(503, "the router is shutting down", 1), false);
    }
    std::vector<UpConn*> left;
    for (auto& [fd, c] : loop->conns) left.push_back(c.get());
    for (UpConn* c : left) {
      if (c->ex) {
        Fail(loop, c, http::ErrorResponse(503, "the router is shutting down", 1));
      } else {
        Close(loop, c);
      }
    }
  }

  void Start(Loop* loop, std::unique_ptr<Exchange> ex) {
    const std::shared_ptr<Backend>& b = ex->backend;
    UpConn* c = nullptr;
    int64_t now = NowNs();
    auto pool = loop->idle.find(b.get());
    while (pool != loop->idle.end() && !pool->second.empty() && !c) {
      c = pool->second.back();
      pool->second.pop_back();
      // A connection idle for a while may have been closed by the replica
      // with the notice still on its way: look before sending into it.
      if (now - c->idle_since_ns > 1'000'000'000) {
        char byte;
        ssize_t r = ::recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (!(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
          c->state = UpConn::State::kReading;  // not in the pool any more
          Close(loop, c);
          c = nullptr;
        }
      }
    }
    if (!c) {
      int err = 0;
      c = Connect(loop, b, &err);
      if (!c) return Retry(loop, std::move(ex), err);
    }
    c->parser->Reset(ex->is_head);
    c->in.clear();
    c->written = 0;
    c->deadline_ns = now + upstream_timeout_ns;
    c->ex = std::move(ex);
    if (c->state == UpConn::State::kConnecting) return;  // EPOLLOUT will tell
    c->state = UpConn::State::kWriting;
    Write(loop, c);
  }

  UpConn* Connect(Loop* loop, const std::shared_ptr<Backend>& b, int* err) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *err = errno;
      return nullptr;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(b->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    UpConn::State state = UpConn::State::kWriting;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      if (errno != EINPROGRESS) {
        *err = errno;
        ::close(fd);
        return nullptr;
      }
      state = UpConn::State::kConnecting;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      *err = errno;
      ::close(fd);
      return nullptr;
    }
    auto conn = std::make_unique<UpConn>();
    conn->fd = fd;
    conn->backend = b;
    conn->state = state;
    conn->parser = NewResponseParser(options.max_body_bytes);
    UpConn* c = conn.get();
    loop->conns[fd] = std::move(conn);
    return c;
  }

  void OnEvent(Loop* loop, UpConn* c, uint32_t events) {
    switch (c->state) {
      case UpConn::State::kIdle:
        // The replica closed it, or sent what nobody asked for.
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) Close(loop, c);
        return;
      case UpConn::State::kConnecting: {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          std::unique_ptr<Exchange> ex = std::move(c->ex);
          Close(loop, c);
          return Retry(loop, std::move(ex), err);
        }
        c->state = UpConn::State::kWriting;
        return Write(loop, c);
      }
      case UpConn::State::kWriting:
        // A replica may answer before it has read the whole request (an
        // early 413): read first, then write.
        if (events & EPOLLIN) {
          if (!Read(loop, c)) return;
          if (c->state != UpConn::State::kWriting) return;
        }
        return Write(loop, c);
      case UpConn::State::kReading:
        Read(loop, c);
        return;
    }
  }

  void Write(Loop* loop, UpConn* c) {
    Exchange& ex = *c->ex;
    const size_t total = ex.head.size() + ex.body.size();
    while (c->written < total) {
      iovec iov[2];
      int n = 0;
      if (c->written < ex.head.size()) {
        iov[n++] = {ex.head.data() + c->written, ex.head.size() - c->written};
        if (!ex.body.empty()) iov[n++] = {ex.body.data(), ex.body.size()};
      } else {
        size_t off = c->written - ex.head.size();
        iov[n++] = {ex.body.data() + off, ex.body.size() - off};
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = n;
      ssize_t w = ::sendmsg(c->fd, &msg, MSG_NOSIGNAL);
      if (w > 0) {
        c->written += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return Broken(loop, c, errno);
    }
    c->state = UpConn::State::kReading;
  }

  // The connection broke while a request was on it.
  void Broken(Loop* loop, UpConn* c, int err) {
    if (c->written == 0 && c->in.empty()) {
      // Not one byte of the request left: certainly never delivered.
      std::unique_ptr<Exchange> ex = std::move(c->ex);
      Close(loop, c);
      return Retry(loop, std::move(ex), err);
    }
    Fail(loop, c,
         http::ErrorResponse(
             502, absl::StrCat("the connection to replica ", c->backend->name,
                               " broke after the request was sent: ", std::strerror(err))));
  }

  // Reads what arrived. False if the connection is gone.
  bool Read(Loop* loop, UpConn* c) {
    char buf[64 << 10];
    while (true) {
      ssize_t n = ::recv(c->fd, buf, sizeof(buf), 0);
      if (n > 0) {
        std::string_view data(buf, static_cast<size_t>(n));
        if (!c->in.empty()) {
          c->in.append(data);
          data = c->in;
        }
        absl::StatusOr<size_t> used = c->parser->Feed(data);
        if (!used.ok()) {
          Fail(loop, c, http::ErrorResponse(502, std::string(used.status().message())));
          return false;
        }
        if (c->parser->done()) return Complete(loop, c, /*eof=*/false);
        if (c->in.empty()) {
          c->in.assign(data.substr(*used));
        } else {
          c->in.erase(0, *used);
        }
        continue;
      }
      if (n == 0) {
        if (c->parser->FinishAtEof()) {
          Complete(loop, c, /*eof=*/true);
        } else {
          Fail(loop, c,
               http::ErrorResponse(
                   502, absl::StrCat("replica ", c->backend->name,
                                     " closed the connection before its response was complete")));
        }
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      Broken(loop, c, errno);
      return false;
    }
  }

  // The response on `c` is whole: answer it, keep `c` for the next request
  // when it may carry one (true) or close it (false: `c` is gone).
  bool Complete(Loop* loop, UpConn* c, bool eof) {
    UpstreamResponse up = c->parser->Take();
    std::unique_ptr<Exchange> ex = std::move(c->ex);
    const bool whole = c->written == ex->head.size() + ex->body.size();
    const bool keep = !eof && up.keep_alive && whole &&
                      !c->backend->removed.load(std::memory_order_relaxed) &&
                      !loop->stop.load(std::memory_order_relaxed);
    if (keep) {
      c->state = UpConn::State::kIdle;
      c->idle_since_ns = NowNs();
      c->in.clear();
      loop->idle[c->backend.get()].push_back(c);
    } else {
      Close(loop, c);
    }
    http::HttpResponse r;
    r.status = up.status;
    r.content_type = "application/octet-stream";
    for (auto& [k, v] : up.headers) {
      if (k == "content-type") {
        r.content_type = std::move(v);
      } else if (!IsOwnResponseHeader(k)) {
        r.headers.emplace_back(std::move(k), std::move(v));
      }
    }
    r.body = std::move(up.body);
    Release(*ex, std::move(r), /*answered=*/true);
    return keep;
  }

  // Answers the request on `c` with `r` (the replica failed it) and closes `c`.
  void Fail(Loop* loop, UpConn* c, http::HttpResponse r) {
    std::unique_ptr<Exchange> ex = std::move(c->ex);
    Close(loop, c);
    if (ex) Release(*ex, std::move(r), /*answered=*/false);
  }

  // `ex` was certainly never delivered to ex->backend (connection refused or
  // reset before a byte was written): send it to another replica.
  void Retry(Loop*, std::unique_ptr<Exchange> ex, int err) {
    Backend& b = *ex->backend;
    spdlog::debug("router: replica {} refused a request ({}); retrying elsewhere", b.name,
                  std::strerror(err));
    b.errors.fetch_add(1, std::memory_order_relaxed);
    ex->tried.push_back(&b);
    std::shared_ptr<Backend> keep = std::move(ex->backend);
    Unload(b);
    retries->Increment();
    Dispatch(std::move(ex));
  }

  void Close(Loop* loop, UpConn* c) {
    if (c->state == UpConn::State::kIdle) {
      auto pool = loop->idle.find(c->backend.get());
      if (pool != loop->idle.end()) {
        auto& v = pool->second;
        v.erase(std::remove(v.begin(), v.end(), c), v.end());
        if (v.empty()) loop->idle.erase(pool);
      }
    }
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    int fd = c->fd;
    loop->conns.erase(fd);  // destroys c
  }

  // Requests past the upstream timeout get 504; idle connections to
  // replicas taken out are closed; the held requests' timeouts.
  void Sweep(Loop* loop, int64_t now) {
    std::vector<UpConn*> late, stale;
    for (auto& [fd, c] : loop->conns) {
      if (c->state == UpConn::State::kIdle) {
        if (c->backend->removed.load(std::memory_order_relaxed)) stale.push_back(c.get());
      } else if (c->ex && c->deadline_ns <= now) {
        late.push_back(c.get());
      }
    }
    for (UpConn* c : stale) Close(loop, c);
    for (UpConn* c : late) {
      Fail(loop, c,
           http::ErrorResponse(504, absl::StrCat("replica ", c->backend->name,
                                                 " did not answer within the upstream timeout of ",
                                                 absl::FormatDuration(options.upstream_timeout))));
    }
    if (loop->handles_held) ExpireHeld(now);
  }
};

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
