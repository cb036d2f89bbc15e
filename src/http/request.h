#pragma once

// Where requests go (http://host:port/path) and how they are written.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace tide::httpc {

// http://host[:port][/path]. Only plain http.
struct Url {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";  // never empty; starts with '/'
  std::string HostPort() const;
};
absl::StatusOr<Url> ParseUrl(std::string_view url);

struct Request {
  std::string method = "GET";
  std::string target = "/";
  // Sent in order after Host (and Connection: close).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // false: "Connection: close", and the connection is not reused.
  bool keep_alive = true;
  // The Host header; empty: the connection's "host:port".
  std::string host;
};

// The request as bytes: "METHOD target HTTP/1.1", Host, Connection: close
// when !keep_alive, the headers, then Content-Length when there is a body or
// the method is POST or PUT (unless the headers give Content-Length or
// Transfer-Encoding themselves), a blank line and the body.
std::string SerializeRequest(const Request& request, std::string_view default_host);

}  // namespace tide::httpc
