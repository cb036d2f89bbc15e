#include "support/tide_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "http/client.h"
#include "metrics/prometheus_parser.h"

namespace tide::testing {

namespace fs = std::filesystem;

const char* TideBinary() { return TIDE_BINARY; }

TideProcess::TideProcess(std::vector<std::string> args, bool wait_listening, const rlimit* nofile) {
  int out[2];
  if (pipe(out) != 0) return;
  char tmpl[] = "/tmp/tide_test_log_XXXXXX";
  int err_fd = mkstemp(tmpl);
  err_path_ = tmpl;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    dup2(err_fd, 2);
    close(out[0]);
    if (nofile != nullptr && setrlimit(RLIMIT_NOFILE, nofile) != 0) _exit(126);
    std::vector<char*> argv;
    std::string bin = TideBinary();
    argv.push_back(bin.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err_fd);
  out_fd_ = out[0];
  if (!wait_listening) return;
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char c;
    if (read(out_fd_, &c, 1) != 1) break;
    if (c != '\n') {
      line += c;
      continue;
    }
    if (line.find("\"listening\"") != std::string::npos) {
      auto num = [&](const std::string& key) {
        size_t p = line.find("\"" + key + "\":");
        return p == std::string::npos ? 0 : std::atoi(line.c_str() + p + key.size() + 3);
      };
      http_port_ = num("http_port");
      metrics_port_ = num("metrics_port");
      grpc_port_ = num("grpc_port");
      return;
    }
    line.clear();
  }
}

TideProcess::~TideProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (!err_path_.empty()) unlink(err_path_.c_str());
}

void TideProcess::Signal(int sig) { kill(pid_, sig); }

int TideProcess::Wait(double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string TideProcess::Log() {
  std::ifstream in(err_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double TideProcess::CpuSeconds() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string line;
  std::getline(in, line);
  size_t close = line.rfind(')');
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> f;
  std::string x;
  while (rest >> x) f.push_back(x);
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<std::string> ServeArgs(const std::string& repo, std::vector<std::string> extra) {
  std::vector<std::string> args = {"serve",    "--model-repository", repo, "--http-port",
                                   "0",        "--metrics-port",     "0",  "--host",
                                   "127.0.0.1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

HttpResult Http(int port, const std::string& method, const std::string& path,
                const std::string& body, const std::map<std::string, std::string>& headers) {
  httpc::ClientOptions options;
  options.connect_timeout = absl::Seconds(30);
  options.read_timeout = absl::Seconds(30);
  options.max_idle_per_host = 0;  // a fresh connection each time
  options.limits.max_head_bytes = 1 << 20;
  options.limits.max_body_bytes = size_t{4} << 30;
  httpc::Client client(options);
  httpc::Request request;
  request.method = method;
  request.target = path;
  request.keep_alive = false;
  request.host = "127.0.0.1";
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    request.headers.emplace_back(k, v);
    if (k == "Content-Type") has_ct = true;
  }
  if ((!body.empty() || method == "POST") && !has_ct) {
    request.headers.emplace_back("Content-Type", "application/json");
  }
  request.body = body;
  HttpResult result;
  auto response = client.Send("127.0.0.1", static_cast<uint16_t>(port), request);
  if (!response.ok()) {
    std::fprintf(stderr, "Http(%d, %s %s): %s\n", port, method.c_str(), path.c_str(),
                 std::string(response.status().message()).c_str());
    return result;
  }
  result.status = response->status;
  for (size_t i = 0; i < response->headers.size(); ++i) {
    std::string name(response->headers.name(i));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(response->headers.value(i));
  }
  result.body = std::move(response->body);
  return result;
}

double MetricValue(const std::string& text, const std::string& match) {
  auto series = metrics::ParseSeries(match);
  if (!series.ok()) {
    std::fprintf(stderr, "MetricValue: bad series %s: %s\n", match.c_str(),
                 std::string(series.status().message()).c_str());
    return -1;
  }
  auto scrape = metrics::ParsePrometheusText(text);
  if (!scrape.ok()) {
    std::fprintf(stderr, "MetricValue: the metrics text does not parse: %s\n",
                 std::string(scrape.status().message()).c_str());
    return -1;
  }
  return scrape->Value(series->name, series->labels).value_or(-1);
}

double AwaitMetric(int metrics_port, const std::string& series, double want, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    const double value = MetricValue(Http(metrics_port, "GET", "/metrics").body, series);
    if (value == want || std::chrono::steady_clock::now() >= deadline) return value;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/tide_test_XXXXXX";
  path_ = mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void TempDir::Write(const std::string& relative, const std::string& content) {
  fs::path p = fs::path(path_) / relative;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

void TempDir::MakeDir(const std::string& relative) {
  fs::create_directories(fs::path(path_) / relative);
}

std::string SimulatedModel(const std::string& name, int compute_ms, int instances, int queue,
                           const std::string& mode, const std::string& dims) {
  return "name: \"" + name +
         "\"\nbackend: \"simulated\"\nmax_batch_size: 0\n"
         "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ " +
         dims +
         " ] }\n"
         "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ " +
         dims +
         " ] }\n"
         "instance_group { count: " +
         std::to_string(instances) +
         " }\n"
         "dynamic_batching { default_queue_policy { max_queue_size: " +
         std::to_string(queue) +
         " } }\n"
         "parameters { key: \"mode\" value { string_value: \"" +
         mode +
         "\" } }\n"
         "parameters { key: \"compute_ms\" value { string_value: \"" +
         std::to_string(compute_ms) + "\" } }\n";
}

CliResult RunTideCli(const std::string& args) {
  CliResult r;
  const std::string cmd = std::string(TideBinary()) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace tide::testing
