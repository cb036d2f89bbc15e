#pragma once

// One HTTP/1.1 client connection's protocol state, without the socket: the
// caller's loop (epoll, Asio, or Client's poll) writes output() and feeds
// what it reads; responses come out in request order. Requests may be
// pipelined; each answer is matched to its request (a HEAD answer has no
// body). Bytes nobody asked for, bad framing and a close before the answer
// are errors that leave the connection unusable.
//
// Thread-compatible: one owner at a time.

#include <deque>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "http/request.h"
#include "http/response_parser.h"

namespace tide::httpc {

class ClientConnection {
 public:
  explicit ClientConnection(ParserLimits limits = {}) : parser_(limits) {}

  // Queues `request` for writing (Host defaults to `default_host`).
  // FailedPrecondition when the connection can carry no more requests.
  absl::Status Send(const Request& request, std::string_view default_host);
  // Bytes still to write, and how many of them were written.
  std::string_view output() const { return std::string_view(out_).substr(out_at_); }
  void Wrote(size_t n);

  // Bytes read from the peer. InternalError (bad framing, bytes with no
  // request outstanding); the connection is then unusable.
  absl::Status Receive(std::string_view data);
  // The peer closed: completes a body that runs to the end. Unavailable
  // when an answer is missing or cut short.
  absl::Status ReceiveEof();

  bool has_response() const { return !ready_.empty(); }
  Response PopResponse();

  // Requests written or queued whose answers are not complete yet.
  size_t outstanding() const { return expected_.size(); }
  // Some byte of the oldest outstanding answer has arrived.
  bool answer_started() const { return parser_.started(); }
  // Idle and able to carry another request: no error, not closed, nothing
  // outstanding or unwritten, and every answer so far kept it alive.
  bool reusable() const;

 private:
  ResponseParser parser_;
  std::string out_;
  size_t out_at_ = 0;
  std::deque<bool> expected_;  // per outstanding request: is it HEAD?
  std::deque<Response> ready_;
  bool closing_ = false;  // a request or answer said Connection: close
  bool eof_ = false;
  absl::Status error_;
};

}  // namespace tide::httpc
