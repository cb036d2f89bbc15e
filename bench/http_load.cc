// A closed-loop HTTP load driver for the serving benchmark: N keep-alive
// connections on one epoll thread (so the driver's own CPU stays small and
// is measured), each sending the same V2 request back to back.
//
//   http_load --port P --metrics-port M --server-pid PID --model NAME
//             --body FILE [--header-length N] --concurrency C
//             [--warmup S] [--duration S] [--repeat R] [--forward-table TSV]
//             [--label TEXT]
//
// --metrics-port 0 drives a server that is not tide (the fixed-response
// baseline): requests are counted by the driver, batch columns are 0.
//
// --body is the whole request body; --header-length makes it a binary-tensor
// request (Inference-Header-Content-Length). For each of R windows it
// measures: throughput, latency percentiles, the server's CPU time per
// request (/proc/PID/stat), the mean batch size (from /metrics), and its own
// CPU share. With --forward-table (torch_forward_bench's TSV) it also prints
// the serving overhead: server CPU per request minus forward()'s CPU per item
// at the window's mean batch size. Prints one line per window and the
// medians over the windows as JSON.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "http/client.h"
#include "http/response_parser.h"
#include "metrics/metric_names.h"
#include "metrics/prometheus_parser.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double SelfCpu() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

double ProcCpu(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of the threads of `pid` named "tide-worker" (the model
// instances' batcher workers, which run forward()) and of all the others.
std::pair<double, double> ThreadCpu(int pid) {
  double worker = 0, other = 0;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream c(entry.path() / "comm");
    std::string comm;
    std::getline(c, comm);
    std::ifstream f(entry.path() / "stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t close = s.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream in(s.substr(close + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stod(field);
    }
    (comm == "tide-worker" ? worker : other) += ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return {worker, other};
}

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// One blocking GET on a fresh connection (for /metrics): the body.
std::string Get(int port, const std::string& path) {
  tide::httpc::ClientOptions options;
  options.max_idle_per_host = 0;
  tide::httpc::Client client(options);
  tide::httpc::Request request;
  request.target = path;
  request.keep_alive = false;
  request.host = "127.0.0.1";
  auto response = client.Send("127.0.0.1", static_cast<uint16_t>(port), request);
  if (!response.ok()) {
    std::fprintf(stderr, "http_load: GET %s: %s\n", path.c_str(),
                 std::string(response.status().message()).c_str());
    std::exit(1);
  }
  return std::move(response->body);
}

// A /metrics body parsed; empty when there is none (--metrics-port 0) or it
// does not parse.
tide::metrics::Exposition ParseMetrics(const std::string& body) {
  if (body.empty()) return {};
  auto parsed = tide::metrics::ParsePrometheusText(body);
  if (!parsed.ok()) {
    std::fprintf(stderr, "http_load: /metrics: %s\n",
                 std::string(parsed.status().message()).c_str());
    return {};
  }
  return *std::move(parsed);
}

struct Conn {
  int fd = -1;
  tide::httpc::ResponseParser parser;  // the one outstanding answer
  size_t sent = 0;
  double started = 0;
};

struct Window {
  double rps = 0, p50 = 0, p90 = 0, p99 = 0, server_cpu_us = 0, mean_batch = 0, client_share = 0,
         server_share = 0, overhead_us = 0, forward_cpu_us = 0, worker_cpu_us = 0, other_cpu_us = 0;
  long errors = 0;
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// forward() CPU µs per item at a (fractional) batch size, interpolated.
double ForwardCpuPerItem(const std::map<int, double>& table, double batch) {
  if (table.empty()) return 0;
  auto hi = table.lower_bound(static_cast<int>(std::ceil(batch)));
  if (hi == table.end()) return std::prev(table.end())->second;
  if (hi == table.begin()) return hi->second;
  auto lo = std::prev(hi);
  double t = (batch - lo->first) / (hi->first - lo->first);
  return lo->second + t * (hi->second - lo->second);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  auto flag = [&](const std::string& k, const std::string& d) {
    return flags.count(k) ? flags[k] : d;
  };
  const int port = std::stoi(flag("--port", "8000"));
  const int metrics_port = std::stoi(flag("--metrics-port", "8002"));
  const int pid = std::stoi(flag("--server-pid", "0"));
  const std::string model = flag("--model", "mlp");
  const int concurrency = std::stoi(flag("--concurrency", "1"));
  const double warmup = std::stod(flag("--warmup", "1")),
               duration = std::stod(flag("--duration", "5"));
  const int repeat = std::stoi(flag("--repeat", "3"));
  // --metrics-port 0: a server without tide's metrics (the fixed-response
  // baseline); requests are counted here instead.
  const bool fixed = metrics_port == 0;
  const std::string label = flag("--label", "");
  std::ifstream bf(flag("--body", ""), std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(bf)), std::istreambuf_iterator<char>());
  std::map<int, double> table;
  double inproc_b1_p50_us = 0;  // the table's batch-1 forward() p50
  if (flags.count("--forward-table")) {
    std::ifstream tf(flags["--forward-table"]);
    std::string line;
    std::getline(tf, line);
    int b;
    double p50, cpu, item;
    while (tf >> b >> p50 >> cpu >> item) {
      table[b] = item;
      if (b == 1) inproc_b1_p50_us = p50;
    }
  }
  std::string request =
      "POST /v2/models/" + model +
      "/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n";
  if (flags.count("--header-length")) {
    request += "Content-Type: application/octet-stream\r\nInference-Header-Content-Length: " +
               flags["--header-length"] + "\r\n";
  } else {
    request += "Content-Type: application/json\r\n";
  }
  request += "\r\n" + body;

  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(concurrency));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(port);
    fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  auto send_request = [&](Conn& c) {
    c.started = Now();
    c.sent = 0;
    while (c.sent < request.size()) {
      ssize_t n = write(c.fd, request.data() + c.sent, request.size() - c.sent);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
      } else {
        // Bodies here are small; the socket buffer takes them at once. If
        // not, spin briefly (rare; counted as latency, which is honest).
        if (errno != EAGAIN) std::exit(1);
      }
    }
  };
  std::vector<double> latencies;
  bool recording = false;
  long errors = 0;
  for (Conn& c : conns) send_request(c);

  auto run_until = [&](double end) {
    epoll_event events[256];
    char buf[65536];
    while (Now() < end) {
      int n = epoll_wait(ep, events, 256, 50);
      for (int e = 0; e < n; ++e) {
        Conn& c = conns[events[e].data.u64];
        for (;;) {
          ssize_t r = read(c.fd, buf, sizeof buf);
          if (r > 0) {
            if (c.parser.Feed(std::string_view(buf, static_cast<size_t>(r))) !=
                static_cast<size_t>(r)) {
              std::fprintf(stderr, "bytes after a response\n");
              std::exit(1);
            }
            continue;
          }
          if (r == 0) {
            std::fprintf(stderr, "server closed a connection\n");
            std::exit(1);
          }
          break;
        }
        // A complete response (one outstanding per connection).
        if (c.parser.state() == tide::httpc::ResponseParser::State::kError) {
          std::fprintf(stderr, "bad response: %s\n", c.parser.error().c_str());
          std::exit(1);
        }
        if (c.parser.state() != tide::httpc::ResponseParser::State::kComplete) continue;
        if (c.parser.Take().status != 200) ++errors;
        if (recording) latencies.push_back(Now() - c.started);
        send_request(c);
      }
    }
  };

  run_until(Now() + warmup);
  std::vector<Window> windows;
  namespace names = tide::metrics::names;
  const tide::metrics::LabelMap mv = {{"model", model}, {"version", "1"}};
  tide::metrics::LabelMap success = mv;
  success["outcome"] = "success";
  for (int w = 0; w < repeat; ++w) {
    latencies.clear();
    errors = 0;
    std::string m0 = fixed ? "" : Get(metrics_port, "/metrics");
    auto [w0, o0] = ThreadCpu(pid);
    double t0 = Now(), s0 = ProcCpu(pid), c0 = SelfCpu();
    recording = true;
    run_until(t0 + duration);
    recording = false;
    double t1 = Now(), s1 = ProcCpu(pid), c1 = SelfCpu();
    auto [w1, o1] = ThreadCpu(pid);
    std::string m1 = fixed ? "" : Get(metrics_port, "/metrics");
    const tide::metrics::Exposition e0 = ParseMetrics(m0), e1 = ParseMetrics(m1);
    // A series' growth over the window (an absent series counts as 0).
    auto delta = [&](const char* name, const tide::metrics::LabelMap& labels) {
      return e1.Value(name, labels).value_or(0) - e0.Value(name, labels).value_or(0);
    };
    double items = delta(names::kInferenceCountTotal, mv);
    double execs = delta(names::kInferenceExecutionsTotal, mv);
    double reqs = delta(names::kInferenceRequestsTotal, success);
    if (fixed) reqs = static_cast<double>(latencies.size());
    Window win;
    win.rps = static_cast<double>(latencies.size()) / (t1 - t0);
    win.p50 = Percentile(latencies, 0.5) * 1e6;
    win.p90 = Percentile(latencies, 0.9) * 1e6;
    win.p99 = Percentile(latencies, 0.99) * 1e6;
    win.server_cpu_us = reqs > 0 ? (s1 - s0) / reqs * 1e6 : 0;
    win.mean_batch = execs > 0 ? items / execs : 0;
    win.worker_cpu_us = reqs > 0 ? (w1 - w0) / reqs * 1e6 : 0;
    win.other_cpu_us = reqs > 0 ? (o1 - o0) / reqs * 1e6 : 0;
    win.client_share = (c1 - c0) / (t1 - t0);
    win.server_share = (s1 - s0) / (t1 - t0);
    win.forward_cpu_us = ForwardCpuPerItem(table, win.mean_batch);
    win.overhead_us = win.server_cpu_us - win.forward_cpu_us;
    win.errors = errors;
    windows.push_back(win);
    std::printf(
        "{\"label\":\"%s\",\"window\":%d,\"concurrency\":%d,\"rps\":%.0f,\"p50_us\":%.0f,\"p90_"
        "us\":%.0f,"
        "\"p99_us\":%.0f,\"inproc_b1_p50_us\":%.0f,\"server_cpu_us_per_req\":%.1f,\"forward_cpu_us_"
        "per_item\":%.1f,"
        "\"overhead_us\":%.1f,"
        "\"worker_cpu_us_per_req\":%.1f,\"other_threads_cpu_us_per_req\":%.1f,"
        "\"mean_batch\":%.2f,\"server_cores\":%.2f,\"client_cores\":%.2f,\"errors\":%ld}\n",
        label.c_str(), w, concurrency, win.rps, win.p50, win.p90, win.p99, inproc_b1_p50_us,
        win.server_cpu_us, win.forward_cpu_us, win.overhead_us, win.worker_cpu_us, win.other_cpu_us,
        win.mean_batch, win.server_share, win.client_share, win.errors);
  }
  long total_errors = 0;
  for (const Window& w : windows) total_errors += w.errors;
  auto median = [&](double Window::*f) {
    std::vector<double> v;
    for (const Window& w : windows) v.push_back(w.*f);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "{\"label\":\"%s\",\"median_of\":%d,\"concurrency\":%d,\"rps\":%.0f,\"p50_us\":%.0f,\"p90_"
      "us\":%.0f,"
      "\"p99_us\":%.0f,\"inproc_b1_p50_us\":%.0f,\"server_cpu_us_per_req\":%.1f,\"forward_cpu_us_"
      "per_item\":%.1f,\"overhead_"
      "us\":%.1f,"
      "\"worker_cpu_us_per_req\":%.1f,\"other_threads_cpu_us_per_req\":%.1f,"
      "\"mean_batch\":%.2f,\"server_cores\":%.2f,\"client_cores\":%.2f,\"errors\":%ld}\n",
      label.c_str(), repeat, concurrency, median(&Window::rps), median(&Window::p50),
      median(&Window::p90), median(&Window::p99), inproc_b1_p50_us, median(&Window::server_cpu_us),
      median(&Window::forward_cpu_us), median(&Window::overhead_us), median(&Window::worker_cpu_us),
      median(&Window::other_cpu_us), median(&Window::mean_batch), median(&Window::server_share),
      median(&Window::client_share), total_errors);
  for (Conn& c : conns) close(c.fd);
  return total_errors == 0 ? 0 : 1;
}
