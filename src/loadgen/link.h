#pragma once

// What the load engine's scheduler asks of a transport: a Link is one place a
// request can be in flight (an HTTP/1.1 keep-alive connection, or one call
// slot on a gRPC channel). The scheduler (engine_worker.cc) decides when to
// connect and send and does all the counting; a Link only moves bytes and
// says what came back.
//
// Threads: a Link and its LinkFactory belong to one worker's event loop. Every
// method is called on that loop's thread, and every LinkEvents callback is
// delivered on it too (a transport whose library completes on its own threads
// posts to the loop). After Close() no event of the request or connect in
// progress is delivered.

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"

namespace tide::loadgen {

struct EngineOptions;

class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
  // Connect() ended: cause "" when the link is ready to send.
  virtual void Connected(const std::string& cause) = 0;
  // Send() ended. cause "" = success (judged by the checker); `status` is
  // the HTTP status or gRPC code (0 if none came back); `keep_open`: the link
  // may send again (otherwise it is down and must Connect() first).
  virtual void Answered(int status, const std::string& cause, bool keep_open) = 0;
};

class Link {
 public:
  virtual ~Link() = default;
  virtual void Connect() = 0;
  // Sends EngineOptions::requests[request_index].
  virtual void Send(size_t request_index) = 0;
  // Drops the connection or call in progress; silent afterwards.
  virtual void Close() = 0;
};

class LinkFactory {
 public:
  virtual ~LinkFactory() = default;
  // `events` outlives the link.
  virtual std::unique_ptr<Link> NewLink(LinkEvents* events) = 0;
  // Called after the worker's loop has stopped and every link was closed:
  // returns once no callback of the transport's own threads can still touch
  // the loop (the loop is destroyed next).
  virtual void Drain() {}
  // After Drain(): CPU seconds of the transport's own thread, if it has one
  // (the gRPC completion queue's poller), so that the busiest thread of a
  // worker is reported whichever of the two it is.
  virtual double TransportThreadCpuSeconds() const { return 0; }
};

// One factory per worker. `options` outlives it.
absl::StatusOr<std::unique_ptr<LinkFactory>> NewHttpLinkFactory(const EngineOptions& options,
                                                                boost::asio::io_context& ioc);
absl::StatusOr<std::unique_ptr<LinkFactory>> NewGrpcLinkFactory(const EngineOptions& options,
                                                                boost::asio::io_context& ioc,
                                                                int worker_index);

}  // namespace tide::loadgen
