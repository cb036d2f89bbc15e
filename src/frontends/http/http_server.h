#pragma once

// The HTTP/1.1 transport: a pool of I/O threads, each an edge-triggered epoll
// loop feeding Boost.Beast's request parser; keep-alive, pipelining (requests
// on one connection are answered in order), chunked request bodies, HEAD,
// HTTP/1.0 and `Expect: 100-continue`. It enforces the limits that protect
// the server from clients: body and header size, connection count, a
// deadline for each request to arrive (slow clients are cut off) and for a
// response write to make progress (clients that stop reading). Responses are
// produced asynchronously by the Handler, and the Responder writes them to the
// socket on the thread that calls it: the I/O threads never wait for
// inference, and a completed response needs no hop back to them.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frontends/http/http_types.h"

namespace tide::http {

class HttpServer {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    uint16_t port = 8000;  // 0 = any free port
    int threads = 2;
    size_t max_body_bytes = 64 << 20;
    size_t max_header_bytes = 16 << 10;
    int max_connections = 1024;
    // A request (headers and body) must arrive within this time; an idle
    // keep-alive connection is closed after it too.
    absl::Duration read_timeout = absl::Seconds(30);
    Handler handler;
    std::string name = "http";  // for logs
  };

  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(Options options);
  ~HttpServer();

  uint16_t port() const;
  int connections() const;
  // Waits until every request read so far has had its response written (or
  // its connection closed), for at most `timeout`. True if none is pending.
  bool WaitForResponses(absl::Duration timeout);
  // Stops accepting, closes connections, joins the I/O threads. Responses
  // still pending are dropped, so call it after the work has drained.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tide::http
