#pragma once

// Test support: runs the real `tide` binary as a child process and talks to it
// over real sockets on 127.0.0.1. Used by the integration tests only.

#include <sys/resource.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace tide::testing {

// The path of the tide binary under test (set by CMake).
const char* TideBinary();

class TideProcess {
 public:
  // Starts `tide args...`; for `serve`, waits for the "listening" line.
  // `nofile`, when given, is the child's RLIMIT_NOFILE (soft and hard).
  explicit TideProcess(std::vector<std::string> args, bool wait_listening = true,
                       const rlimit* nofile = nullptr);
  ~TideProcess();  // SIGKILLs the process if still running

  int http_port() const { return http_port_; }
  int metrics_port() const { return metrics_port_; }
  int grpc_port() const { return grpc_port_; }
  pid_t pid() const { return pid_; }
  bool started() const { return http_port_ > 0; }
  void Signal(int sig);
  // Waits for exit; returns the exit status, or -1 on timeout.
  int Wait(double timeout_s);
  // stderr so far (the log).
  std::string Log();
  // Total CPU seconds (user + system) the process has used.
  double CpuSeconds() const;

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string err_path_;
  int http_port_ = 0, metrics_port_ = 0, grpc_port_ = -1;
  bool exited_ = false;
};

// What Http() got, with header names lower-cased (a later duplicate wins).
struct HttpResult {
  int status = 0;                              // 0: connection failed or no response
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// The arguments of `tide serve` on loopback with every port chosen by the
// system (HTTP, metrics; gRPC as tide's default unless `extra` says), for
// `repo`, followed by `extra`.
std::vector<std::string> ServeArgs(const std::string& repo, std::vector<std::string> extra = {});

// One request on a fresh connection ("Connection: close"; Content-Type
// application/json unless given, for a body or a POST); 30 s to connect and
// between bytes. Sent and read by the shared client (http/client.h): the body
// is de-chunked, and a failure (said on stderr) gives status 0.
HttpResult Http(int port, const std::string& method, const std::string& path,
                const std::string& body = "",
                const std::map<std::string, std::string>& headers = {});

// Value of the sample `match` in Prometheus text, read with
// metrics::ParsePrometheusText: `match` is a series as written, e.g.
// tide_x_total{model="m",version="1"}, and must name all of its labels.
// -1 when there is no such sample, or when the text does not parse (said on
// stderr).
double MetricValue(const std::string& text, const std::string& match);

// The sample `series` (as for MetricValue) from http://127.0.0.1:`metrics_port`
// /metrics, read every 10 ms until it equals `want` or `timeout_s` passes.
// Returns the last value read (-1 when absent): the caller asserts on it.
double AwaitMetric(int metrics_port, const std::string& series, double want, double timeout_s = 10);

// Runs `tide <args>` through the shell (args are shell words), with stdout
// and stderr together; for the command-line tests.
struct CliResult {
  int code = -1;    // exit status; -1 if it did not exit normally
  std::string out;  // stdout and stderr
};
CliResult RunTideCli(const std::string& args);

// The whole content of a file ("" if it cannot be read).
std::string ReadFileText(const std::string& path);

// The config.pbtxt of a simulated model (no batching: max_batch_size 0) with
// one FP32 input INPUT0 and output OUTPUT0 of dims [`dims`] ("1", or "-1" for
// any length), `instances` instances, a queue of `queue`, and `compute_ms`
// per request of `mode` ("sleep": wall time, "cpu": a busy core).
std::string SimulatedModel(const std::string& name, int compute_ms, int instances, int queue,
                           const std::string& mode = "sleep", const std::string& dims = "1");

// A temporary directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  void Write(const std::string& relative, const std::string& content);
  void MakeDir(const std::string& relative);

 private:
  std::string path_;
};

}  // namespace tide::testing
