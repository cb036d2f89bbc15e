// `tide load` as a user runs it: the real binary against a fake server on
// 127.0.0.1 (flags, table, JSON/CSV files, exit codes, Ctrl-C).

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "loadgen/testing/fake_http_server.h"
#include "nlohmann/json.hpp"

namespace {

using tide::loadgen::testing::FakeHttpServer;
using tide::loadgen::testing::FakeReply;
using tide::loadgen::testing::FakeRequest;

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr
};

Result RunTide(const std::string& args) {
  Result r;
  const std::string cmd = std::string(TIDE_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TideLoadCli, HelpDescribesEveryFlag) {
  Result r = RunTide("load --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--url",
                           "--model",
                           "--model-version",
                           "--http-get",
                           "--batch-size",
                           "--shape",
                           "--input-data",
                           "--binary",
                           "--seed",
                           "--concurrency",
                           "--rate",
                           "--arrivals",
                           "--trace",
                           "--trace-format",
                           "--time-scale",
                           "--rate-scale",
                           "--start",
                           "--duration",
                           "--warmup",
                           "--requests",
                           "--timeout",
                           "--threads",
                           "--max-connections",
                           "--sweep-min-gain",
                           "--sweep-patience",
                           "--metrics-url",
                           "--json",
                           "--csv",
                           "--timeline-csv"}) {
    EXPECT_NE(r.out.find(std::string(flag) + " "), std::string::npos) << flag;
  }
}

TEST(TideLoadCli, RunsAndWritesFiles) {
  auto server = FakeHttpServer::Start([](const FakeRequest&) { return FakeReply(); });
  ASSERT_TRUE(server.ok());
  const std::string dir = ::testing::TempDir();
  Result r =
      RunTide("load --url http://127.0.0.1:" + std::to_string((*server)->port()) +
              " --http-get /ping --concurrency 2 --requests 50 --json " + dir +
              "/load.json --csv " + dir + "/load.csv --timeline-csv " + dir + "/timeline.csv");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("throughput/s"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\r"), std::string::npos);  // no progress line when not a terminal
  EXPECT_EQ((*server)->requests(), 50);
  nlohmann::json j = nlohmann::json::parse(Slurp(dir + "/load.json"));
  EXPECT_EQ(j["levels"][0]["ok"], 50);
  EXPECT_EQ(j["config"]["http_get"], "/ping");
  EXPECT_EQ(Slurp(dir + "/load.csv").rfind("mode,level,", 0), 0u);
  EXPECT_EQ(Slurp(dir + "/timeline.csv").rfind("mode,level,t_s,", 0), 0u);
}

TEST(TideLoadCli, CtrlCStopsWithResultsSoFar) {
  auto server = FakeHttpServer::Start([](const FakeRequest&) { return FakeReply(); });
  ASSERT_TRUE(server.ok());
  // SIGINT once tide has installed its handler (startup can take most of a
  // second while the shared libraries load, and a background job of a
  // non-interactive shell starts with SIGINT ignored), then the shell reports
  // tide's exit status.
  const std::string out = ::testing::TempDir() + "/ctrl_c.out";
  Result r = RunTide("load --url http://127.0.0.1:" + std::to_string((*server)->port()) +
                     " --http-get / --rate 100 --duration 30 >" + out + " 2>&1 & pid=$!; " +
                     // Wait until SIGINT (bit 2 of SigCgt) is caught, then a little longer.
                     "for i in $(seq 400); do m=$(awk '/^SigCgt/{print $2}' /proc/$pid/status); "
                     "[ $(( 0x$m & 2 )) != 0 ] && break; sleep 0.05; done; "
                     "sleep 0.3; kill -INT $pid; wait $pid; echo exit=$?; cat " +
                     out + "; true");
  // RunTide() prefixes TIDE_BINARY to the first command only.
  EXPECT_NE(r.out.find("exit=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stopped early (Ctrl-C)"), std::string::npos) << r.out;
}

TEST(TideLoadCli, SetupErrorsExitOne) {
  const std::string port = std::to_string(tide::loadgen::testing::UnusedPort());
  Result refused = RunTide("load --url http://127.0.0.1:" + port + " --model simple");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("model metadata"), std::string::npos) << refused.out;
  Result no_model = RunTide("load --url http://127.0.0.1:" + port);
  EXPECT_EQ(no_model.code, 1);
  EXPECT_NE(no_model.out.find("--model"), std::string::npos);
  Result bad_flag = RunTide("load --arrivals bursty --model m");
  EXPECT_NE(bad_flag.code, 0);
}

}  // namespace
