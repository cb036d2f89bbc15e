#include "fleet/health_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tide::fleet {

namespace {

// Closes the socket however the probe ends.
struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

absl::StatusOr<int> HttpGetStatus(int port, std::string_view path, absl::Duration timeout) {
  const std::string where = absl::StrCat("127.0.0.1:", port, std::string(path));
  const auto deadline = std::chrono::steady_clock::now() +
                        absl::ToChronoNanoseconds(std::min(timeout, absl::Hours(1)));
  // Waits for `events` on the socket until the deadline; false on timeout.
  auto wait_for = [&](int fd, short events) {
    for (;;) {
      auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd, events, 0};
      int r = poll(&p, 1, static_cast<int>(left.count()));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  };
  auto timed_out = [&] {
    return absl::DeadlineExceededError(
        absl::StrCat("GET ", where, ": no answer within ", absl::FormatDuration(timeout)));
  };

  Socket s;
  s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrCat("GET ", where, ": ", std::strerror(errno)));
    }
    if (!wait_for(s.fd, POLLOUT)) return timed_out();
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      return absl::UnavailableError(absl::StrCat("GET ", where, ": ", std::strerror(err)));
  }
  const std::string request = absl::StrCat(
      "GET ", std::string(path), " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(s.fd, POLLOUT)) return timed_out();
    } else {
      return absl::UnavailableError(absl::StrCat("GET ", where, ": ", std::strerror(errno)));
    }
  }
  // Only the status line is needed: "HTTP/1.1 200 OK\r\n".
  std::string head;
  while (head.find("\r\n") == std::string::npos && head.size() < 1024) {
    char buf[512];
    ssize_t n = recv(s.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      head.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return absl::UnavailableError(
          absl::StrCat("GET ", where, ": connection closed before a status line"));
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(s.fd, POLLIN)) return timed_out();
    } else {
      return absl::UnavailableError(absl::StrCat("GET ", where, ": ", std::strerror(errno)));
    }
  }
  int code = 0;
  if (head.compare(0, 7, "HTTP/1.") != 0 || head.size() < 12 || head[8] != ' ' ||
      !absl::SimpleAtoi(head.substr(9, 3), &code) || code < 100 || code > 599) {
    return absl::InternalError(absl::StrCat(
        "GET ", where, ": not an HTTP status line: ", head.substr(0, head.find("\r\n"))));
  }
  return code;
}

}  // namespace tide::fleet
