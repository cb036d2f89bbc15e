#include "loadgen/http_wire.h"
#include "loadgen/text.h"

namespace tide::loadgen {
namespace {

// `lower` must be lower case; no locale.
bool AsciiEqualsIgnoreCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

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
    if (!ParseInt(authority.substr(colon + 1), &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(Cat("bad port in URL '", url, "'"));
    }
    out.port = static_cast<uint16_t>(port);
  }
  if (out.host.empty()) return absl::InvalidArgumentError(Cat("no host in URL '", url, "'"));
  return out;
}

std::string SerializeRequest(std::string_view method, const Url& url, std::string_view target,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string_view body) {
  std::string out = Cat(method, " ", target, " HTTP/1.1\r\nHost: ", url.HostPort(), "\r\n");
  for (const auto& [name, value] : headers) Append(&out, name, ": ", value, "\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    Append(&out, "Content-Length: ", body.size(), "\r\n");
  }
  Append(&out, "\r\n", body);
  return out;
}

HttpResponseParser::State HttpResponseParser::Fail(std::string why) {
  error_ = std::move(why);
  return State::kError;
}

void HttpResponseParser::Reset() {
  head_done_ = false;
  head_len_ = 0;
  content_length_ = -1;
  chunked_ = false;
  until_eof_ = false;
  consumed_ = 0;
  response_ = HttpResponse();
  error_.clear();
}

HttpResponseParser::State HttpResponseParser::ParseHead(std::string_view data) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > 64 * 1024) return Fail("response head over 64 KiB");
    return State::kIncomplete;
  }
  head_len_ = end + 4;
  std::string_view head = data.substr(0, end);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // HTTP/1.x SSS reason
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
    return Fail(Cat("bad status line '", status_line.substr(0, 40), "'"));
  }
  int64_t status;
  if (!ParseInt(status_line.substr(9, 3), &status) || status < 100 || status > 599) {
    return Fail("bad status code");
  }
  response_.status = static_cast<int>(status);
  response_.keep_alive = status_line[7] == '1';  // HTTP/1.0 closes by default
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  // The hot path of the load client: header names are matched by length
  // first, then case-insensitively, without locale calls.
  while (!rest.empty()) {
    size_t next = rest.find("\r\n");
    std::string_view line = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Fail("bad header line");
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    switch (name.size()) {
      case 14:
        if (AsciiEqualsIgnoreCase(name, "content-length")) {
          int64_t n;
          if (!ParseInt(value, &n) || n < 0) return Fail("bad Content-Length");
          content_length_ = n;
        }
        break;
      case 17:
        if (AsciiEqualsIgnoreCase(name, "transfer-encoding")) {
          chunked_ = ContainsIgnoreCase(value, "chunked");
        }
        break;
      case 10:
        if (AsciiEqualsIgnoreCase(name, "connection")) {
          if (ContainsIgnoreCase(value, "close")) response_.keep_alive = false;
          if (ContainsIgnoreCase(value, "keep-alive")) response_.keep_alive = true;
        }
        break;
      case 31:
        if (AsciiEqualsIgnoreCase(name, "inference-header-content-length")) {
          int64_t n;
          if (!ParseInt(value, &n) || n < 0) return Fail("bad Inference-Header-Content-Length");
          response_.inference_header_length = n;
        }
        break;
      case 12:
        if (AsciiEqualsIgnoreCase(name, "content-type"))
          response_.content_type = std::string(value);
        break;
      default:
        break;
    }
  }
  head_done_ = true;
  if (status == 204 || status == 304 || status < 200) {
    content_length_ = 0;
    chunked_ = false;
  } else if (!chunked_ && content_length_ < 0) {
    until_eof_ = true;
    response_.keep_alive = false;
  }
  return State::kIncomplete;
}

HttpResponseParser::State HttpResponseParser::ParseChunked(std::string_view data) {
  // Re-scans the chunks from the head each time: chunked replies are rare
  // from model servers, and small.
  size_t pos = head_len_;
  std::string body;
  while (true) {
    size_t eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) return State::kIncomplete;
    std::string_view size_text = data.substr(pos, eol - pos);
    size_t semi = size_text.find(';');
    if (semi != std::string_view::npos) size_text = size_text.substr(0, semi);
    uint64_t size;
    if (!ParseHex(Trim(size_text), &size)) {
      return Fail("bad chunk size");
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailers, then an empty line.
      while (true) {
        size_t line_end = data.find("\r\n", pos);
        if (line_end == std::string_view::npos) return State::kIncomplete;
        bool empty = line_end == pos;
        pos = line_end + 2;
        if (empty) break;
      }
      response_.body = std::move(body);
      consumed_ = pos;
      return State::kComplete;
    }
    if (data.size() < pos + size + 2) return State::kIncomplete;
    body.append(data.substr(pos, size));
    pos += size + 2;
  }
}

HttpResponseParser::State HttpResponseParser::Parse(std::string_view data, bool eof) {
  if (!head_done_) {
    State s = ParseHead(data);
    if (s == State::kError) return s;
    if (!head_done_) {
      return eof ? Fail(data.empty() ? "connection closed before response"
                                     : "connection closed inside response head")
                 : State::kIncomplete;
    }
  }
  if (chunked_) {
    State s = ParseChunked(data);
    if (s == State::kIncomplete && eof) return Fail("connection closed inside chunked body");
    return s;
  }
  if (until_eof_) {
    if (!eof) return State::kIncomplete;
    response_.body = std::string(data.substr(head_len_));
    consumed_ = data.size();
    return State::kComplete;
  }
  size_t need = head_len_ + static_cast<size_t>(content_length_);
  if (data.size() < need) {
    return eof ? Fail("connection closed inside body") : State::kIncomplete;
  }
  response_.body = std::string(data.substr(head_len_, content_length_));
  consumed_ = need;
  return State::kComplete;
}

}  // namespace tide::loadgen
