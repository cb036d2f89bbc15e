#pragma once

// The HTTP/1.1 wire format, as much as a load client needs: URLs, requests
// serialised once up front, and an incremental response parser. Pure: no
// sockets here, so every framing case is unit-tested.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::loadgen {

// http://host[:port][/path]. Only plain http (the servers under test).
struct Url {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";  // never empty; starts with '/'
  std::string HostPort() const;
};
absl::StatusOr<Url> ParseUrl(std::string_view url);

// A complete HTTP/1.1 request with keep-alive, ready to write as is.
std::string SerializeRequest(std::string_view method, const Url& url, std::string_view target,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view body);

// A parsed response. `body` is de-chunked.
struct HttpResponse {
  int status = 0;
  bool keep_alive = true;
  int64_t inference_header_length = -1;  // Inference-Header-Content-Length, if present
  std::string content_type;
  std::string body;
};

// Incremental response parser for one connection. Feed it the bytes received
// so far (the connection's whole unconsumed buffer each time); it answers
// kIncomplete until one full response is there. Then Take() gives the
// response and the number of bytes it used; Reset() readies it for the next.
class HttpResponseParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  // Parses `data` (which starts at the response's first byte and only grows
  // between calls until Reset()). `eof` says the peer closed: a body framed by
  // the connection's end completes then; anything else incomplete is an error.
  State Parse(std::string_view data, bool eof = false);
  // After kComplete: the response and the bytes consumed.
  HttpResponse Take() { return std::move(response_); }
  size_t consumed() const { return consumed_; }
  // After kError: why.
  const std::string& error() const { return error_; }
  void Reset();

 private:
  State ParseHead(std::string_view data);
  State ParseChunked(std::string_view data);
  State Fail(std::string why);

  bool head_done_ = false;
  size_t head_len_ = 0;
  int64_t content_length_ = -1;
  bool chunked_ = false;
  bool until_eof_ = false;
  size_t consumed_ = 0;
  HttpResponse response_;
  std::string error_;
};

}  // namespace tide::loadgen
