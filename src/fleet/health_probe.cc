#include "fleet/health_probe.h"

#include <cstdint>

#include "http/client.h"

namespace tide::fleet {

namespace {

// One GET on a fresh connection, as a kubelet probe makes it.
absl::StatusOr<httpc::Response> Get(int port, std::string_view path, absl::Duration timeout,
                                    size_t max_body) {
  httpc::ClientOptions options;
  options.connect_timeout = timeout;
  options.read_timeout = timeout;
  options.total_timeout = timeout;
  options.max_idle_per_host = 0;
  options.limits.max_body_bytes = max_body;
  httpc::Client client(options);
  httpc::Request request;
  request.target = std::string(path);
  request.keep_alive = false;
  return client.Send("127.0.0.1", static_cast<uint16_t>(port), request);
}

}  // namespace

absl::StatusOr<int> HttpGetStatus(int port, std::string_view path, absl::Duration timeout) {
  absl::StatusOr<httpc::Response> r = Get(port, path, timeout, 1 << 20);
  if (!r.ok()) return r.status();
  return r->status;
}

absl::StatusOr<HttpGetResult> HttpGet(int port, std::string_view path, absl::Duration timeout,
                                      size_t max_body) {
  absl::StatusOr<httpc::Response> r = Get(port, path, timeout, max_body);
  if (!r.ok()) return r.status();
  return HttpGetResult{r->status, std::move(r->body)};
}

}  // namespace tide::fleet
