#include "http/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/text.h"
#include "http/connection.h"

namespace tide::httpc {
namespace {

using common::Cat;

// Milliseconds until `deadline` for poll(), at least 0, at most a day.
int PollMs(absl::Time now, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return 24 * 3600 * 1000;
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(deadline - now, absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 24 * 3600 * 1000));
}

absl::Time Later(absl::Time now, absl::Duration d) {
  return d == absl::InfiniteDuration() ? absl::InfiniteFuture() : now + d;
}

// A non-blocking TCP connection to one of host's addresses, or why not.
absl::StatusOr<int> Connect(const std::string& host, uint16_t port, const std::string& where,
                            absl::Duration timeout, absl::Time deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) return absl::UnavailableError(Cat("resolving ", host, ": ", gai_strerror(rc)));
  absl::Status last = absl::UnavailableError(Cat("connecting to ", where, ": no address"));
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int err = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        absl::Time now = absl::Now();
        pollfd p{fd, POLLOUT, 0};
        int n;
        do {
          n = poll(&p, 1, PollMs(now, std::min(deadline, Later(now, timeout))));
        } while (n < 0 && errno == EINTR);
        if (n == 0) {
          close(fd);
          last = absl::DeadlineExceededError(
              Cat("connecting to ", where, ": no answer within ", absl::FormatDuration(timeout)));
          continue;
        }
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    if (err != 0) {
      close(fd);
      last = absl::UnavailableError(Cat("connecting to ", where, ": ", std::strerror(err)));
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    freeaddrinfo(found);
    return fd;
  }
  freeaddrinfo(found);
  return last;
}

// An idle connection the server may have closed meanwhile: open only when
// there is nothing to read (a byte or an end means it is no longer usable).
bool StillOpen(int fd) {
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

struct Client::Conn {
  explicit Conn(int fd, ParserLimits limits) : fd(fd), http(limits) {}
  ~Conn() { close(fd); }
  int fd;
  ClientConnection http;
};

Client::Client(ClientOptions options) : options_(std::move(options)) {}
Client::~Client() = default;

int Client::idle_connections() const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [key, conns] : idle_) n += static_cast<int>(conns.size());
  return n;
}

std::unique_ptr<Client::Conn> Client::TakeIdle(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = idle_.find(key);
  while (it != idle_.end() && !it->second.empty()) {
    std::unique_ptr<Conn> c = std::move(it->second.back());
    it->second.pop_back();
    if (StillOpen(c->fd)) return c;
  }
  return nullptr;
}

void Client::PutIdle(const std::string& key, std::unique_ptr<Conn> conn) {
  absl::MutexLock lock(&mu_);
  auto& conns = idle_[key];
  if (static_cast<int>(conns.size()) < options_.max_idle_per_host) conns.push_back(std::move(conn));
}

absl::StatusOr<Response> Client::Get(const Url& url, std::string_view target) {
  Request r;
  r.target = target.empty() ? url.path : std::string(target);
  return Send(url.host, url.port, r);
}

absl::StatusOr<Response> Client::Send(std::string_view host_view, uint16_t port,
                                      const Request& request) {
  const std::string host(host_view);
  const std::string where = Cat(host, ":", port);
  const absl::Time deadline = Later(absl::Now(), options_.total_timeout);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Conn> c = attempt == 0 ? TakeIdle(where) : nullptr;
    const bool reused = c != nullptr;
    if (!c) {
      auto fd = Connect(host, port, where, options_.connect_timeout, deadline);
      if (!fd.ok()) return fd.status();
      c = std::make_unique<Conn>(*fd, options_.limits);
    }
    if (absl::Status s = c->http.Send(request, where); !s.ok()) return s;
    bool sent_any = false, write_failed = false;
    absl::Time progress = absl::Now();
    char buf[64 * 1024];
    absl::Status failure;
    while (!c->http.has_response()) {
      const absl::Time now = absl::Now();
      const absl::Time until = std::min(deadline, Later(progress, options_.read_timeout));
      if (now >= until) {
        failure = absl::DeadlineExceededError(
            Cat("no answer from ", where, " within ",
                absl::FormatDuration(until == deadline ? options_.total_timeout
                                                       : options_.read_timeout)));
        break;
      }
      const bool want_write = !write_failed && !c->http.output().empty();
      pollfd p{c->fd, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
      int n = poll(&p, 1, PollMs(now, until));
      if (n <= 0) continue;  // timeout (checked above) or EINTR
      if (want_write && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
        std::string_view out = c->http.output();
        ssize_t w = send(c->fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
          c->http.Wrote(static_cast<size_t>(w));
          sent_any = true;
          progress = absl::Now();
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          // The server may have answered and closed (413 before the whole
          // body): read on for that answer.
          write_failed = true;
          failure = absl::UnavailableError(Cat("writing to ", where, ": ", std::strerror(errno)));
        }
      }
      if (!(p.revents & (POLLIN | POLLERR | POLLHUP))) continue;
      ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0) {
        progress = absl::Now();
        if (absl::Status s = c->http.Receive(std::string_view(buf, static_cast<size_t>(r)));
            !s.ok()) {
          failure = absl::InternalError(Cat("bad answer from ", where, ": ", s.message()));
          break;
        }
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      // The end of the connection (or a reset): whatever answer is there.
      const std::string why = r == 0 ? "" : std::strerror(errno);
      if (absl::Status s = c->http.ReceiveEof(); !s.ok() && !c->http.has_response()) {
        if (!failure.ok() && !sent_any) break;  // the write's error says more
        failure = s.code() == absl::StatusCode::kInternal
                      ? absl::InternalError(Cat("bad answer from ", where, ": ", s.message()))
                      : absl::UnavailableError(Cat("reading from ", where, ": ",
                                                   why.empty() ? std::string(s.message()) : why));
      }
      break;
    }
    if (c->http.has_response()) {
      Response response = c->http.PopResponse();
      if (options_.max_idle_per_host > 0 && c->http.reusable()) PutIdle(where, std::move(c));
      return response;
    }
    if (reused && !sent_any && attempt == 0) continue;  // a stale pooled connection
    return failure;
  }
}

}  // namespace tide::httpc
