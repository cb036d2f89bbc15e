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
#include <functional>
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
    // Over max_connections, up to this many more connections are still read,
    // and on them only GET/HEAD of `reserved_paths` (health checks) are
    // answered; anything else gets 503. A flood of idle connections must not
    // make a healthy server fail its liveness probe. Beyond both: 503 at once.
    int reserved_connections = 64;
    std::vector<std::string> reserved_paths;
    // A keep-alive connection older than this (each one's age drawn within
    // ±10 % of it, so that connections opened together do not all go at
    // once) gets `Connection: close` on its next response and is closed
    // after it: clients reconnect, and a Service spreads the new connections
    // over every replica, the ones added since too. Idle connections are
    // left to the read timeout (closing one could race a request the client
    // is sending). Zero or infinite: no limit.
    absl::Duration max_connection_age = absl::ZeroDuration();
    Handler handler;
    std::string name = "http";  // for logs
    // Observers; may be empty. Every response answered, with its status: the
    // handler's (called on the thread that answers, so it must be
    // thread-safe) and those the transport writes on its own (400/413/431 for
    // bad framing and limits, 503 over the connection cap). A second answer
    // to one request (a handler bug, dropped) is not counted.
    std::function<void(int status)> on_response;
    // A connection closed by a deadline: kIdle (no request began within the
    // read timeout: normal keep-alive expiry), kRead (a request began but did
    // not arrive in time: a slow client), kWrite (a response made no progress:
    // a client that stopped reading), all on the I/O thread; kAge (older than
    // max_connection_age: closed after a response, on the thread that
    // answered, so it must be thread-safe).
    enum class Timeout { kIdle, kRead, kWrite, kAge };
    std::function<void(Timeout)> on_timeout;
    // Called on the I/O thread:
    // accept() failed for want of descriptors or memory (EMFILE, ENFILE,
    // ENOBUFS, ENOMEM): the listener is left alone until the next sweep.
    std::function<void()> on_accept_error;
  };

  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(Options options);
  ~HttpServer();

  uint16_t port() const;
  int connections() const;
  // Waits until every request read so far has had its response written (or
  // its connection closed), for at most `timeout`. True if none is pending.
  bool WaitForResponses(absl::Duration timeout);
  // Graceful shutdown, first step: from now on every response says
  // `Connection: close` and its connection is closed after it, so that
  // keep-alive clients move to other servers instead of racing a request
  // into a socket this server is about to close. Still accepting.
  void BeginDrain();
  // Graceful shutdown, last step: stops accepting, then waits (at most
  // `timeout`) until every request read has been answered and every open
  // connection is idle, with no request begun, for at least `quiet`; then
  // Stop(). A request that arrives meanwhile is still read and handed to the
  // handler (which answers 503 when the server refuses work). True if
  // nothing was pending when it stopped.
  bool Shutdown(absl::Duration timeout, absl::Duration quiet = absl::Milliseconds(50));
  // Stops accepting, closes connections, joins the I/O threads. Responses
  // still pending are dropped, so call it after the work has drained.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tide::http
