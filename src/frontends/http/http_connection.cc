#include "frontends/http/http_connection.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <cerrno>

namespace tide::http::transport {

int64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

bool SendPending(Conn& c, const std::string& head, const std::string& body) {
  if (!c.out.empty()) {  // earlier bytes still queued: keep the order
    c.out.append(head).append(body);
    return true;
  }
  iovec iov[2];
  int n = 0;
  if (!head.empty()) iov[n++] = {const_cast<char*>(head.data()), head.size()};
  if (!body.empty()) iov[n++] = {const_cast<char*>(body.data()), body.size()};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<size_t>(n);
  size_t total = head.size() + body.size(), sent = 0;
  while (sent < total) {
    ssize_t w = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    sent += static_cast<size_t>(w);
    // Advance the iovecs past what was written.
    size_t skip = static_cast<size_t>(w);
    while (msg.msg_iovlen > 0 && skip >= msg.msg_iov[0].iov_len) {
      skip -= msg.msg_iov[0].iov_len;
      ++msg.msg_iov;
      --msg.msg_iovlen;
    }
    if (msg.msg_iovlen > 0) {
      msg.msg_iov[0].iov_base = static_cast<char*>(msg.msg_iov[0].iov_base) + skip;
      msg.msg_iov[0].iov_len -= skip;
    }
  }
  if (sent < total) {
    c.deadline = MonotonicNanos() + c.write_timeout_ns;
    std::string rest;
    rest.reserve(total - sent);
    for (size_t i = 0; i < msg.msg_iovlen; ++i) {
      rest.append(static_cast<const char*>(msg.msg_iov[i].iov_base), msg.msg_iov[i].iov_len);
    }
    c.out = std::move(rest);
    c.out_off = 0;
  }
  return true;
}

bool FlushOut(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t w = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      return false;
    }
    c.out_off += static_cast<size_t>(w);
    c.deadline = MonotonicNanos() + c.write_timeout_ns;
  }
  c.out.clear();
  c.out_off = 0;
  return true;
}

}  // namespace tide::http::transport
