#pragma once

// The HTTP/1.1 wire format as tide load sees it. URLs, request writing and
// the incremental response parser are the shared client's (src/http); this
// keeps loadgen's names for them and the response view its checkers judge.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request.h"
#include "http/response_parser.h"

namespace tide::loadgen {

// http://host[:port][/path]. Only plain http (the servers under test).
using httpc::ParseUrl;
using httpc::Url;

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

// The checker's view of a parsed response (its body moved out). Returns ""
// or what is wrong with it (a bad Inference-Header-Content-Length).
std::string ToHttpResponse(httpc::Response&& parsed, HttpResponse* out);

}  // namespace tide::loadgen
