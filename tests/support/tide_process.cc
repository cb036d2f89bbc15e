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

#include "metrics/prometheus_parser.h"

namespace tide::testing {

namespace fs = std::filesystem;

const char* TideBinary() { return TIDE_BINARY; }

TideProcess::TideProcess(std::vector<std::string> args, bool wait_listening) {
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

HttpResult Http(int port, const std::string& method, const std::string& path,
                const std::string& body, const std::map<std::string, std::string>& headers) {
  HttpResult result;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return result;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (k == "Content-Type") has_ct = true;
  }
  if (!body.empty() || method == "POST") {
    if (!has_ct) req += "Content-Type: application/json\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  for (int waited = 0; waited < 30000;) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r == 0) {
      waited += 100;
      continue;
    }
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return result;
  result.status = std::atoi(raw.c_str() + 9);
  std::istringstream hs(raw.substr(0, end));
  std::string line;
  std::getline(hs, line);
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    for (char& c : k) c = static_cast<char>(std::tolower(c));
    result.headers[k] = line.substr(colon + 2);
  }
  result.body = raw.substr(end + 4);
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

}  // namespace tide::testing
