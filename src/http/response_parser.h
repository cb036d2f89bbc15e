#pragma once

// An incremental HTTP/1.1 response parser: feed it bytes as they arrive, in
// pieces of any size, and it says when one response is complete. No sockets:
// the load engine, the router of `tide up` and the blocking Client drive it
// from their own loops.
//
// Framing (RFC 9112 section 6): HEAD answers, 1xx, 204 and 304 have no body;
// Transfer-Encoding whose last coding is chunked wins over Content-Length
// (chunk extensions are skipped, trailers kept); a Transfer-Encoding without
// chunked, or no length at all, means the body runs to the connection's end.
// Interim 1xx responses (100 Continue, 103 Early Hints) are skipped: the
// parser completes on the final response. 101 completes with no body.
// Sizes are bounded (ParserLimits); every error says what was wrong.
//
// Thread-compatible: one parser per connection.

#include <cstdint>
#include <string>
#include <string_view>

#include "http/headers.h"

namespace tide::httpc {

// A complete response. `body` is de-chunked.
struct Response {
  int status = 0;
  int version_minor = 1;  // HTTP/1.<minor>
  std::string reason;
  Headers headers;
  std::string body;
  Headers trailers;  // chunked bodies only
  // The connection may carry another request: HTTP/1.1 without
  // "Connection: close" (or 1.0 with "keep-alive"), and a framed body.
  bool keep_alive = true;
};

struct ParserLimits {
  size_t max_head_bytes = 64 * 1024;  // status line + headers (and, apart, trailers)
  size_t max_body_bytes = 64 * 1024 * 1024;
};

class ResponseParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  explicit ResponseParser(ParserLimits limits = {}) : limits_(limits) {}

  // The response now being parsed answers a HEAD request: no body whatever
  // its headers say. Set before its bytes are fed; Take() clears it.
  void set_head_request(bool head) { head_request_ = head; }

  // Consumes bytes of the current response from `data` and stops at its end:
  // returns how many bytes it used (bytes after a complete response belong
  // to the next one; feed them after Take()). Uses nothing once complete or
  // failed.
  size_t Feed(std::string_view data);
  // The peer closed the connection: completes a body that runs to the end;
  // anything else unfinished is an error.
  State FinishEof();

  State state() const { return state_; }
  // Some byte of the current response has been fed.
  bool started() const { return started_; }
  // After kComplete: the response. Take() moves it out and readies the
  // parser for the next response on the same connection.
  const Response& response() const { return response_; }
  Response Take();
  // After kError: what was wrong ("bad status line 'FTP/1.1 200'").
  const std::string& error() const { return error_; }
  // Forgets everything (a new connection).
  void Reset();

 private:
  enum class Phase { kHead, kBody, kUntilEof, kChunkSize, kChunkData, kChunkEnd, kTrailers };

  size_t FeedHead(std::string_view data);
  size_t FeedChunkSize(std::string_view data);
  size_t FeedTrailers(std::string_view data);
  // Parses a head ending in "\r\n\r\n"; sets the phase for the body.
  void ParseHead(std::string_view head);
  void AppendBody(std::string_view data);
  void Complete();
  void Fail(std::string why);
  // Readies for the next response (keeps error_).
  void ClearResponse();
  // Reads a line ending in "\r\n" into line_ (at most `limit` bytes, else
  // fails with `too_long`); returns the bytes used and sets *done when the
  // line is whole (line_ without its CRLF).
  size_t TakeLine(std::string_view data, size_t limit, std::string_view too_long, bool* done);

  ParserLimits limits_;
  State state_ = State::kIncomplete;
  Phase phase_ = Phase::kHead;
  bool head_request_ = false;
  bool started_ = false;
  std::string head_;  // a head split across Feed calls
  std::string line_;  // a chunk-size or trailer line split across Feed calls
  uint64_t remaining_ = 0;
  size_t trailer_bytes_ = 0;
  Response response_;
  std::string error_;
};

}  // namespace tide::httpc
