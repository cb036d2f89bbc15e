#include "http/request.h"

#include "common/text.h"
#include "http/headers.h"

namespace tide::httpc {

using common::Append;
using common::Cat;

// An IPv6 host comes out unbracketed ("::1:8000"), as tide load always wrote it.
std::string Url::HostPort() const { return Cat(host, ":", port); }

absl::StatusOr<Url> ParseUrl(std::string_view url) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return absl::InvalidArgumentError(Cat("unsupported URL '", url, "': only http://"));
  }
  Url out;
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("bad IPv6 host");
    out.host = std::string(authority.substr(1, close - 1));
    colon = authority.size() > close + 1 && authority[close + 1] == ':' ? close + 1
                                                                        : std::string_view::npos;
  } else {
    out.host = std::string(authority.substr(0, colon));
  }
  if (colon != std::string_view::npos) {
    int64_t port;
    if (!common::ParseInt(authority.substr(colon + 1), &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(Cat("bad port in URL '", url, "'"));
    }
    out.port = static_cast<uint16_t>(port);
  }
  if (out.host.empty()) return absl::InvalidArgumentError(Cat("no host in URL '", url, "'"));
  return out;
}

std::string SerializeRequest(const Request& request, std::string_view default_host) {
  std::string out =
      Cat(request.method, " ", request.target, " HTTP/1.1\r\nHost: ",
          request.host.empty() ? default_host : std::string_view(request.host), "\r\n");
  if (!request.keep_alive) out += "Connection: close\r\n";
  bool framed = false;
  for (const auto& [name, value] : request.headers) {
    Append(&out, name, ": ", value, "\r\n");
    framed = framed || EqualsIgnoreCase(name, "content-length") ||
             EqualsIgnoreCase(name, "transfer-encoding");
  }
  if (!framed && (!request.body.empty() || request.method == "POST" || request.method == "PUT")) {
    Append(&out, "Content-Length: ", request.body.size(), "\r\n");
  }
  out += "\r\n";
  out += request.body;
  return out;
}

}  // namespace tide::httpc
