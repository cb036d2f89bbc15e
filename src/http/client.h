#pragma once

// A blocking HTTP/1.1 client with a keep-alive pool per host:port: for tests,
// /metrics scrapes, model metadata and tools, not for load (that is the load
// engine, driving ResponseParser from its own event loop).
//
// Each Send() takes an idle pooled connection (checked to be still open) or
// connects afresh, writes the request while reading (an early answer, such
// as a 413 before the whole body was taken, is returned), and gives the
// connection back to the pool when the answer keeps it alive. A request is
// retried once, on a fresh connection, only when it went to a pooled
// connection and not one byte of it could be written.
//
// Errors: Unavailable (cannot connect, reset or closed before an answer),
// DeadlineExceeded (connect_timeout, read_timeout or total_timeout passed),
// Internal (the answer is malformed or over the limits). Any HTTP status is
// a response, not an error.
//
// Thread-safe: concurrent Send()s use separate connections.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "http/request.h"
#include "http/response_parser.h"

namespace tide::httpc {

struct ClientOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  // The longest wait for the server to take or send the next bytes.
  absl::Duration read_timeout = absl::Seconds(30);
  // For a whole Send(), connecting included.
  absl::Duration total_timeout = absl::InfiniteDuration();
  // Idle connections kept per host:port; 0: a fresh connection each time.
  int max_idle_per_host = 4;
  ParserLimits limits;
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();  // closes the idle connections
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  absl::StatusOr<Response> Send(std::string_view host, uint16_t port, const Request& request);
  // GET `target` (url.path when empty) from url's host:port.
  absl::StatusOr<Response> Get(const Url& url, std::string_view target = {});

  // Idle pooled connections, all hosts (tests).
  int idle_connections() const;

 private:
  struct Conn;
  std::unique_ptr<Conn> TakeIdle(const std::string& key);
  void PutIdle(const std::string& key, std::unique_ptr<Conn> conn);

  const ClientOptions options_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Conn>>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tide::httpc
