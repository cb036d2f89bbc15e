#include "loadgen/http_wire.h"
#include "loadgen/text.h"

namespace tide::loadgen {

std::string SerializeRequest(std::string_view method, const Url& url, std::string_view target,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view body) {
  httpc::Request request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.headers = headers;
  request.body = std::string(body);
  return httpc::SerializeRequest(request, url.HostPort());
}

std::string ToHttpResponse(httpc::Response&& parsed, HttpResponse* out) {
  out->status = parsed.status;
  out->keep_alive = parsed.keep_alive;
  out->inference_header_length = -1;
  if (auto v = parsed.headers.Get("Inference-Header-Content-Length")) {
    int64_t n;
    if (!ParseInt(*v, &n) || n < 0) return "bad Inference-Header-Content-Length";
    out->inference_header_length = n;
  }
  out->content_type = std::string(parsed.headers.GetOr("Content-Type"));
  out->body = std::move(parsed.body);
  return "";
}

}  // namespace tide::loadgen
