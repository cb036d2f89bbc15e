#include "fleet/demo_traffic.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tide::fleet {

std::vector<TrafficSegment> DemoShape(int cores) {
  // 50 ms of CPU per request: `cores` cores answer 20 * cores requests per
  // second; the spike asks for 80 % of that.
  const double peak = 16.0 * std::max(1, cores);
  const double base = std::max(1.0, peak / 8);
  return {
      {"warm-up", absl::Seconds(30), base, base}, {"ramp", absl::Seconds(60), base, peak * 0.6},
      {"spike", absl::Seconds(30), peak, peak},   {"fall", absl::Seconds(60), peak * 0.6, base / 2},
      {"quiet", absl::Seconds(60), 0.5, 0.5},
  };
}

std::string SimulatedInferBody() {
  return R"({"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"FP32",)"
         R"("data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}]})";
}

KeepAliveClient::~KeepAliveClient() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<int> KeepAliveClient::Post(const std::string& path, const std::string& body,
                                          std::string* response_body) {
  // A kept-alive connection the server closed while idle fails before any
  // byte of an answer: the request was never read, so it is sent again once
  // on a fresh connection (what every HTTP client does).
  const bool reused = fd_ >= 0;
  bool stale = false;
  absl::StatusOr<int> r = PostOnce(path, body, response_body, &stale);
  if (!r.ok() && reused && stale) r = PostOnce(path, body, response_body, &stale);
  return r;
}

absl::StatusOr<int> KeepAliveClient::PostOnce(const std::string& path, const std::string& body,
                                              std::string* response_body, bool* stale) {
  *stale = false;
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout_));
  if (fd_ < 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      int e = errno;
      close(fd_);
      fd_ = -1;
      return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(e)));
    }
  }
  auto fail = [this](const std::string& what) {
    close(fd_);
    fd_ = -1;
    return absl::UnavailableError(what);
  };
  std::string req = absl::StrCat("POST ", path,
                                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                 "application/json\r\nContent-Length: ",
                                 body.size(), "\r\n\r\n", body);
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      *stale = errno == EPIPE || errno == ECONNRESET;
      return fail(absl::StrCat("send: ", std::strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  std::string data;
  size_t head_end = std::string::npos;
  size_t total = 0;
  bool close_after = false;
  for (;;) {
    if (head_end != std::string::npos && data.size() >= total) break;
    char buf[8192];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *stale = data.empty() && (n == 0 || errno == ECONNRESET);
      return fail(n == 0 ? "connection closed before a complete answer"
                         : absl::StrCat("recv: ", std::strerror(errno)));
    }
    data.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      std::string head = absl::AsciiStrToLower(data.substr(0, head_end));
      uint64_t len = 0;
      size_t cl = head.find("\r\ncontent-length:");
      if (cl != std::string::npos) {
        size_t v = cl + 17, eol = head.find("\r\n", v);
        if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(head.substr(v, eol - v)), &len)) {
          return fail("bad Content-Length");
        }
      }
      close_after = head.find("\r\nconnection: close") != std::string::npos;
      total = head_end + 4 + len;
    }
  }
  int code = 0;
  if (data.size() < 12 || !absl::SimpleAtoi(data.substr(9, 3), &code)) {
    return fail("not an HTTP answer");
  }
  if (response_body) *response_body = data.substr(head_end + 4, total - head_end - 4);
  if (close_after) {
    close(fd_);
    fd_ = -1;
  }
  return code;
}

absl::StatusOr<std::unique_ptr<DemoTraffic>> DemoTraffic::Start(Options options) {
  if (options.port == 0) return absl::InvalidArgumentError("DemoTraffic: no port");
  if (options.shape.empty()) {
    options.shape = DemoShape(static_cast<int>(std::thread::hardware_concurrency()));
  }
  if (options.workers < 1) return absl::InvalidArgumentError("DemoTraffic: workers < 1");
  std::unique_ptr<DemoTraffic> d(new DemoTraffic(std::move(options)));
  d->body_ = SimulatedInferBody();
  d->start_ = absl::Now();
  d->phase_ = d->options_.shape.front().name;
  for (int i = 0; i < d->options_.workers; ++i)
    d->workers_.emplace_back([p = d.get()] { p->Work(); });
  d->scheduler_ = std::thread([p = d.get()] { p->Schedule(); });
  return d;
}

DemoTraffic::~DemoTraffic() { Stop(); }

void DemoTraffic::Schedule() {
  // Integrates the rate: a request is due each time the integral passes an
  // integer.
  double owed = 0;
  absl::Time seg_start = start_;
  for (const TrafficSegment& seg : options_.shape) {
    {
      absl::MutexLock lock(&mu_);
      phase_ = seg.name;
    }
    const absl::Duration step = absl::Milliseconds(5);
    for (absl::Time t = seg_start; t < seg_start + seg.length; t += step) {
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithDeadline(absl::Condition(&stop_), t);
        if (stop_) return;
      }
      double frac = absl::ToDoubleSeconds(t - seg_start) / absl::ToDoubleSeconds(seg.length);
      double rate = seg.rate_from + (seg.rate_to - seg.rate_from) * frac;
      owed += rate * absl::ToDoubleSeconds(step);
      if (owed >= 1) {
        uint64_t n = static_cast<uint64_t>(owed);
        owed -= static_cast<double>(n);
        absl::MutexLock lock(&mu_);
        due_ += n;
      }
    }
    seg_start += seg.length;
  }
  absl::MutexLock lock(&mu_);
  done_ = true;
  phase_ = "done";
}

void DemoTraffic::Work() {
  KeepAliveClient client(options_.port);
  const std::string path = absl::StrCat("/v2/models/", options_.model, "/infer");
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &DemoTraffic::WorkReady));
      if (stop_) return;
      --due_;
      ++stats_.sent;
    }
    std::string answer;
    absl::StatusOr<int> code = client.Post(path, body_, &answer);
    absl::MutexLock lock(&mu_);
    if (code.ok() && *code == 200) {
      ++stats_.ok;
      continue;
    }
    ++stats_.errors;
    std::string what = code.ok() ? absl::StrCat("HTTP ", *code, ": ", answer.substr(0, 120))
                                 : std::string(code.status().message());
    if (stats_.error_samples.size() < 8 &&
        std::find(stats_.error_samples.begin(), stats_.error_samples.end(), what) ==
            stats_.error_samples.end()) {
      stats_.error_samples.push_back(what);
    }
  }
}

std::string DemoTraffic::Phase() const {
  absl::MutexLock lock(&mu_);
  return phase_;
}

bool DemoTraffic::Done() const {
  absl::MutexLock lock(&mu_);
  return done_;
}

DemoTrafficStats DemoTraffic::Stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void DemoTraffic::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (scheduler_.joinable()) scheduler_.join();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

}  // namespace tide::fleet
