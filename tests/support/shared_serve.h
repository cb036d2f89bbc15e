#pragma once

// A gtest fixture base for suites that share one `tide serve` (started once
// per suite, on port 0): `class MySuite : public SharedServe<MySuite>` and a
// `static void SetUpTestSuite() { StartServe({...extra flags...}); }`.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "support/tide_process.h"

namespace tide::testing {

template <typename Suite>
class SharedServe : public ::testing::Test {
 protected:
  // `tide serve` on 127.0.0.1 with HTTP and metrics on free ports, no drain
  // delay, plus `flags`.
  static void StartServe(std::vector<std::string> flags) {
    std::vector<std::string> args = {"serve",   "--http-port",   "0", "--metrics-port", "0",
                                     "--host",  "127.0.0.1", "--drain-delay", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    server_ = new TideProcess(std::move(args));
    ASSERT_TRUE(server_->started()) << server_->Log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static int port() { return server_->http_port(); }
  static std::string Metrics() { return Http(server_->metrics_port(), "GET", "/metrics").body; }
  static inline TideProcess* server_ = nullptr;
};

}  // namespace tide::testing
