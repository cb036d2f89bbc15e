#include "loadgen/http_fetch.h"

#include <limits>

#include "http/client.h"
#include "loadgen/text.h"

namespace tide::loadgen {

absl::StatusOr<HttpResponse> FetchOnce(const Url& url, std::string_view method,
                                       std::string_view target, absl::Duration timeout) {
  httpc::ClientOptions options;
  options.connect_timeout = timeout;
  options.read_timeout = timeout;
  options.total_timeout = timeout;
  options.max_idle_per_host = 0;
  options.limits.max_body_bytes = std::numeric_limits<size_t>::max();
  httpc::Client client(options);
  httpc::Request request;
  request.method = std::string(method);
  request.target = std::string(target);
  auto parsed = client.Send(url.host, url.port, request);
  if (!parsed.ok()) return parsed.status();
  HttpResponse response;
  if (std::string bad = ToHttpResponse(*std::move(parsed), &response); !bad.empty()) {
    return absl::InternalError(Cat("bad answer from ", url.HostPort(), ": ", bad));
  }
  return response;
}

}  // namespace tide::loadgen
