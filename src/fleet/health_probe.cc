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
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
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

namespace tide::fleet {

namespace {

// Decodes a chunked body; nullopt if it is malformed or incomplete.
std::optional<std::string> Dechunk(std::string_view in) {
  std::string out;
  for (;;) {
    size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view size_text = in.substr(0, eol);
    if (size_t semi = size_text.find(';'); semi != std::string_view::npos)
      size_text = size_text.substr(0, semi);
    while (!size_text.empty() && (size_text.back() == ' ' || size_text.back() == '\t'))
      size_text.remove_suffix(1);
    if (size_text.empty() || size_text.size() > 15) return std::nullopt;
    uint64_t size = 0;
    for (char c : size_text) {
      int digit = absl::ascii_isdigit(c)   ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
      if (digit < 0) return std::nullopt;
      size = size * 16 + static_cast<uint64_t>(digit);
    }
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (in.size() < size + 2) return std::nullopt;
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

}  // namespace

absl::StatusOr<HttpGetResult> HttpGet(int port, std::string_view path, absl::Duration timeout,
                                      size_t max_body) {
  const std::string where = absl::StrCat("127.0.0.1:", port, std::string(path));
  const auto deadline = std::chrono::steady_clock::now() +
                        absl::ToChronoNanoseconds(std::min(timeout, absl::Hours(1)));
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
  // Read until the peer closes, or the Content-Length is complete.
  std::string data;
  std::optional<size_t> total;  // head + Content-Length, once known
  for (;;) {
    if (total && data.size() >= *total) break;
    if (data.size() > max_body + 65536) {
      return absl::ResourceExhaustedError(
          absl::StrCat("GET ", where, ": answer over ", max_body, " bytes"));
    }
    char buf[16384];
    ssize_t n = recv(s.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
      if (!total) {
        size_t end = data.find("\r\n\r\n");
        if (end != std::string::npos) {
          std::string head = absl::AsciiStrToLower(data.substr(0, end));
          size_t cl = head.find("\r\ncontent-length:");
          if (cl != std::string::npos) {
            size_t v = cl + 17;
            size_t eol = head.find("\r\n", v);
            uint64_t len = 0;
            if (absl::SimpleAtoi(absl::StripAsciiWhitespace(head.substr(v, eol - v)), &len)) {
              if (len > max_body) {
                return absl::ResourceExhaustedError(
                    absl::StrCat("GET ", where, ": answer over ", max_body, " bytes"));
              }
              total = end + 4 + len;
            }
          }
        }
      }
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(s.fd, POLLIN)) return timed_out();
    } else {
      return absl::UnavailableError(absl::StrCat("GET ", where, ": ", std::strerror(errno)));
    }
  }
  size_t end = data.find("\r\n\r\n");
  int code = 0;
  if (end == std::string::npos || data.compare(0, 7, "HTTP/1.") != 0 || data.size() < 12 ||
      data[8] != ' ' || !absl::SimpleAtoi(data.substr(9, 3), &code) || code < 100 || code > 599) {
    return absl::UnavailableError(
        absl::StrCat("GET ", where, ": no complete HTTP answer before the connection closed"));
  }
  HttpGetResult result;
  result.status = code;
  std::string head = absl::AsciiStrToLower(data.substr(0, end));
  std::string_view body = std::string_view(data).substr(end + 4);
  if (total) body = body.substr(0, *total - end - 4);
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    std::optional<std::string> d = Dechunk(body);
    if (!d) return absl::UnavailableError(absl::StrCat("GET ", where, ": truncated chunked body"));
    result.body = std::move(*d);
  } else {
    result.body = std::string(body);
  }
  return result;
}

}  // namespace tide::fleet
