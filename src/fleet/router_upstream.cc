// The router's upstream half: epoll loops that own keep-alive connections
// to the replicas, send the requests posted to them, parse the answers
// (upstream_parser.h) and complete the clients' requests; retries when a
// request was certainly never delivered, 502 when a connection breaks after
// it was sent, 504 past the upstream timeout.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "fleet/router_impl.h"
#include "spdlog/spdlog.h"

namespace tide::fleet {
namespace {

using router_internal::Backend;
using router_internal::Exchange;
using router_internal::Loop;
using router_internal::NowNs;
using router_internal::UpConn;

// Response headers the transport writes itself.
bool IsOwnResponseHeader(std::string_view name) {
  static constexpr std::string_view kOwn[] = {"connection",     "keep-alive",   "transfer-encoding",
                                              "content-length", "content-type", "server",
                                              "trailer",        "upgrade"};
  return std::find(std::begin(kOwn), std::end(kOwn), name) != std::end(kOwn);
}

}  // namespace

void Router::Impl::Run(Loop* loop) {
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

void Router::Impl::Start(Loop* loop, std::unique_ptr<Exchange> ex) {
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

UpConn* Router::Impl::Connect(Loop* loop, const std::shared_ptr<Backend>& b, int* err) {
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

void Router::Impl::OnEvent(Loop* loop, UpConn* c, uint32_t events) {
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

void Router::Impl::Write(Loop* loop, UpConn* c) {
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
void Router::Impl::Broken(Loop* loop, UpConn* c, int err) {
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
bool Router::Impl::Read(Loop* loop, UpConn* c) {
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
bool Router::Impl::Complete(Loop* loop, UpConn* c, bool eof) {
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
void Router::Impl::Fail(Loop* loop, UpConn* c, http::HttpResponse r) {
  std::unique_ptr<Exchange> ex = std::move(c->ex);
  Close(loop, c);
  if (ex) Release(*ex, std::move(r), /*answered=*/false);
}

// `ex` was certainly never delivered to ex->backend (connection refused or
// reset before a byte was written): send it to another replica.
void Router::Impl::Retry(Loop*, std::unique_ptr<Exchange> ex, int err) {
  Backend& b = *ex->backend;
  spdlog::debug("router: replica {} refused a request ({}); retrying elsewhere", b.name,
                std::strerror(err));
  b.errors.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<Backend> keep = std::move(ex->backend);
  ex->tried.push_back(keep);
  Unload(b);
  retries->Increment();
  Dispatch(std::move(ex));
}

void Router::Impl::Close(Loop* loop, UpConn* c) {
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
void Router::Impl::Sweep(Loop* loop, int64_t now) {
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
}  // namespace tide::fleet
