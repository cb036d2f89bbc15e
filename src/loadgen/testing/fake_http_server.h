#pragma once

// A tiny HTTP/1.1 server for tests of the load generator, on 127.0.0.1 with
// a port chosen by the kernel. Its behaviour per request is a callback, so a
// test can make it fast, slow, stalled, failing or silent. One thread (its
// own); the callback runs there.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::loadgen::testing {

struct FakeRequest {
  int64_t index = 0;       // 0, 1, 2, ... in order of arrival at the server
  int64_t arrival_ns = 0;  // since the server started (steady clock)
  std::string method;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct FakeReply {
  int status = 200;
  std::string body = "ok";
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t delay_ns = 0;   // answer this long after the request arrived
  bool close = false;     // close the connection after answering
  bool no_reply = false;  // never answer (the connection stays open)
  bool chunked = false;   // send the body with chunked transfer encoding
};

using FakeBehaviour = std::function<FakeReply(const FakeRequest&)>;

class FakeHttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<FakeHttpServer>> Start(FakeBehaviour behaviour);
  ~FakeHttpServer();  // stops the thread, closes every connection

  uint16_t port() const { return port_; }
  int64_t requests() const { return requests_.load(); }
  int64_t connections() const { return connections_.load(); }
  // Steady-clock nanoseconds when the server started (arrival_ns origin).
  int64_t start_ns() const { return start_ns_; }

  class Impl;

 private:
  FakeHttpServer() = default;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  uint16_t port_ = 0;
  int64_t start_ns_ = 0;
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> connections_{0};
};

// A port on 127.0.0.1 where nothing listens (bound, then closed).
uint16_t UnusedPort();

}  // namespace tide::loadgen::testing
