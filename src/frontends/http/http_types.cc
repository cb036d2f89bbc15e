#include "frontends/http/http_types.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace tide::http {

const std::string& HttpRequest::Header(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return kEmpty;
}

HttpResponse ErrorResponse(int status, const std::string& message, int retry_after_seconds) {
  HttpResponse r;
  r.status = status;
  r.body = absl::StrCat("{\"error\":\"", common::JsonEscape(message), "\"}");
  if (retry_after_seconds > 0)
    r.headers.emplace_back("Retry-After", absl::StrCat(retry_after_seconds));
  return r;
}

namespace {

const char* Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

}  // namespace

std::string SerializeResponseHead(const HttpResponse& r, unsigned version, bool close,
                                  size_t body_size) {
  std::string h;
  h.reserve(160);
  AppendResponseHead(r, version, close, body_size, &h);
  return h;
}

void AppendResponseHead(const HttpResponse& r, unsigned version, bool close, size_t body_size,
                        std::string* out) {
  std::string& h = *out;
  absl::StrAppend(&h, version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", r.status, " ", Reason(r.status),
                  "\r\nServer: tide\r\nContent-Type: ",
                  r.content_type.empty() ? absl::string_view("application/json")
                                         : absl::string_view(r.content_type),
                  "\r\nContent-Length: ", body_size, "\r\n");
  if (close) {
    h += "Connection: close\r\n";
  } else if (version == 10) {
    h += "Connection: keep-alive\r\n";
  }
  for (const auto& [k, v] : r.headers) absl::StrAppend(&h, k, ": ", v, "\r\n");
  h += "\r\n";
}

}  // namespace tide::http
