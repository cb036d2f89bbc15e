#include "http/response_parser.h"

#include <algorithm>
#include <utility>

#include "common/text.h"
#include "http/field.h"

namespace tide::httpc {
namespace {

using common::Cat;

constexpr size_t kMaxChunkLine = 4096;
constexpr size_t kMaxReserve = 1 << 20;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Digits only (no sign, no blanks), at most 18 of them.
bool ParseLength(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

void ResponseParser::Fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
}

void ResponseParser::Complete() { state_ = State::kComplete; }

Response ResponseParser::Take() {
  Response out = std::move(response_);
  ClearResponse();
  return out;
}

void ResponseParser::ClearResponse() {
  response_.status = 0;
  response_.version_minor = 1;
  response_.reason.clear();
  response_.headers.Clear();
  response_.body.clear();
  response_.trailers.Clear();
  response_.keep_alive = true;
  state_ = State::kIncomplete;
  phase_ = Phase::kHead;
  head_request_ = false;
  started_ = false;
  head_.clear();
  line_.clear();
  remaining_ = 0;
  trailer_bytes_ = 0;
}

void ResponseParser::Reset() {
  ClearResponse();
  error_.clear();
}

size_t ResponseParser::Feed(std::string_view data) {
  size_t used = 0;
  while (used < data.size() && state_ == State::kIncomplete) {
    std::string_view rest = data.substr(used);
    started_ = true;
    switch (phase_) {
      case Phase::kHead:
        used += FeedHead(rest);
        break;
      case Phase::kBody: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, rest.size()));
        response_.body.append(rest.substr(0, n));
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) Complete();
        break;
      }
      case Phase::kUntilEof:
        AppendBody(rest);
        used += rest.size();
        break;
      case Phase::kChunkSize:
        used += FeedChunkSize(rest);
        break;
      case Phase::kChunkData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, rest.size()));
        response_.body.append(rest.substr(0, n));
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) {
          phase_ = Phase::kChunkEnd;
          remaining_ = 2;
        }
        break;
      }
      case Phase::kChunkEnd:
        if (rest[0] != (remaining_ == 2 ? '\r' : '\n')) {
          Fail("missing CRLF after chunk data");
          break;
        }
        ++used;
        if (--remaining_ == 0) phase_ = Phase::kChunkSize;
        break;
      case Phase::kTrailers:
        used += FeedTrailers(rest);
        break;
    }
  }
  return used;
}

ResponseParser::State ResponseParser::FinishEof() {
  if (state_ != State::kIncomplete) return state_;
  switch (phase_) {
    case Phase::kHead:
      Fail(started_ ? "connection closed inside response head"
                    : "connection closed before response");
      break;
    case Phase::kUntilEof:
      Complete();
      break;
    case Phase::kBody:
      Fail(Cat("connection closed inside body (", response_.body.size(), " of ",
               response_.body.size() + remaining_, " bytes)"));
      break;
    default:
      Fail("connection closed inside chunked body");
      break;
  }
  return state_;
}

size_t ResponseParser::FeedHead(std::string_view data) {
  const size_t limit = limits_.max_head_bytes;
  if (head_.empty()) {
    // The common case: the whole head in one read, parsed in place.
    size_t end = data.find("\r\n\r\n");
    if (end != std::string_view::npos) {
      if (end + 4 > limit) {
        Fail(Cat("response head over ", limit, " bytes"));
        return end + 4;
      }
      ParseHead(data.substr(0, end + 4));
      return end + 4;
    }
    if (data.size() > limit) {
      Fail(Cat("response head over ", limit, " bytes"));
      return data.size();
    }
    head_.assign(data);
    return data.size();
  }
  const size_t old = head_.size();
  head_.append(data);
  size_t end = head_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
  if (end == std::string::npos) {
    if (head_.size() > limit) Fail(Cat("response head over ", limit, " bytes"));
    return data.size();
  }
  if (end + 4 > limit) {
    Fail(Cat("response head over ", limit, " bytes"));
    return end + 4 - old;
  }
  head_.resize(end + 4);
  std::string head = std::move(head_);
  head_.clear();
  ParseHead(head);
  return end + 4 - old;
}

void ResponseParser::ParseHead(std::string_view head) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  if (!line.starts_with("HTTP/1.") || line.size() < 12 || !IsDigit(line[7]) || line[8] != ' ') {
    return Fail(Cat("bad status line '", Excerpt(line), "'"));
  }
  if (!IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11]) ||
      (line.size() > 12 && line[12] != ' ')) {
    return Fail(Cat("bad status code in '", Excerpt(line), "'"));
  }
  const int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status < 100 || status > 599) return Fail(Cat("bad status code ", status));
  response_.status = status;
  response_.version_minor = line[7] - '0';
  if (line.size() > 13) response_.reason = std::string(line.substr(13));

  uint64_t content_length = 0;
  bool has_length = false, has_te = false, chunked = false;
  bool close = false, keep_alive = false;
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    std::string_view field = head.substr(pos, end - pos);
    pos = end + 2;
    if (field.empty()) break;  // the blank line ending the head
    std::string_view name, value;
    std::string why;
    if (!ParseField(field, &name, &value, &why)) return Fail(std::move(why));
    response_.headers.Add(name, value);
    // By length first: most fields are none of these.
    if (name.size() == 14 && EqualsIgnoreCase(name, "content-length")) {
      uint64_t n;
      if (!ParseLength(value, &n)) return Fail(Cat("bad Content-Length '", Excerpt(value), "'"));
      if (has_length && n != content_length) return Fail("conflicting Content-Length values");
      content_length = n;
      has_length = true;
    } else if (name.size() == 17 && EqualsIgnoreCase(name, "transfer-encoding")) {
      has_te = true;
      size_t comma = value.rfind(',');
      std::string_view last =
          common::Trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
      chunked = EqualsIgnoreCase(last, "chunked");
    } else if (name.size() == 10 && EqualsIgnoreCase(name, "connection")) {
      for (std::string_view token : common::Split(value, ',')) {
        token = common::Trim(token);
        if (EqualsIgnoreCase(token, "close")) close = true;
        if (EqualsIgnoreCase(token, "keep-alive")) keep_alive = true;
      }
    }
  }
  response_.keep_alive = !close && (response_.version_minor >= 1 || keep_alive);

  if (status < 200 && status != 101) {  // interim: the final response follows
    response_.reason.clear();
    response_.headers.Clear();
    return;
  }
  if (status == 101) {  // the connection now speaks another protocol
    response_.keep_alive = false;
    return Complete();
  }
  if (head_request_ || status == 204 || status == 304) return Complete();
  if (has_te) {
    if (chunked) {
      phase_ = Phase::kChunkSize;
    } else {
      phase_ = Phase::kUntilEof;
      response_.keep_alive = false;
    }
    return;
  }
  if (has_length) {
    if (content_length > limits_.max_body_bytes) {
      return Fail(
          Cat("body of ", content_length, " bytes over the limit of ", limits_.max_body_bytes));
    }
    if (content_length == 0) return Complete();
    response_.body.reserve(static_cast<size_t>(std::min<uint64_t>(content_length, kMaxReserve)));
    remaining_ = content_length;
    phase_ = Phase::kBody;
    return;
  }
  phase_ = Phase::kUntilEof;
  response_.keep_alive = false;
}

void ResponseParser::AppendBody(std::string_view data) {
  if (response_.body.size() + data.size() > limits_.max_body_bytes) {
    return Fail(Cat("body over the limit of ", limits_.max_body_bytes, " bytes"));
  }
  response_.body.append(data);
}

size_t ResponseParser::TakeLine(std::string_view data, size_t limit, std::string_view too_long,
                                bool* done) {
  *done = false;
  if (!line_.empty() && line_.back() == '\r' && data[0] == '\n') {
    line_.pop_back();
    *done = true;
    return 1;
  }
  size_t end = data.find("\r\n");
  size_t take = end == std::string_view::npos ? data.size() : end;
  // A CR at the end may be the first half of the CRLF: not the line's.
  const size_t cr = end == std::string_view::npos && data.back() == '\r' ? 1 : 0;
  if (line_.size() + take - cr > limit) {
    Fail(std::string(too_long));
    return data.size();
  }
  line_.append(data.substr(0, take));
  if (end == std::string_view::npos) return data.size();
  *done = true;
  return end + 2;
}

size_t ResponseParser::FeedChunkSize(std::string_view data) {
  bool done;
  size_t used =
      TakeLine(data, kMaxChunkLine, Cat("chunk size line over ", kMaxChunkLine, " bytes"), &done);
  if (!done || state_ != State::kIncomplete) return used;
  std::string_view line = line_;
  uint64_t size = 0;
  size_t digits = 0;
  while (digits < line.size() && HexValue(line[digits]) >= 0) {
    if (digits == 15) {
      Fail("chunk size too large");
      return used;
    }
    size = size * 16 + static_cast<uint64_t>(HexValue(line[digits]));
    ++digits;
  }
  std::string_view rest = line.substr(digits);
  while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t')) rest.remove_prefix(1);
  if (digits == 0 || (!rest.empty() && rest[0] != ';')) {
    Fail(Cat("bad chunk size '", Excerpt(line), "'"));
    return used;
  }
  line_.clear();
  if (size > limits_.max_body_bytes - response_.body.size()) {
    Fail(Cat("body over the limit of ", limits_.max_body_bytes, " bytes"));
    return used;
  }
  if (size == 0) {
    phase_ = Phase::kTrailers;
    trailer_bytes_ = 0;
  } else {
    phase_ = Phase::kChunkData;
    remaining_ = size;
  }
  return used;
}

size_t ResponseParser::FeedTrailers(std::string_view data) {
  bool done;
  size_t limit = limits_.max_head_bytes - std::min(trailer_bytes_, limits_.max_head_bytes);
  size_t used =
      TakeLine(data, limit, Cat("trailers over ", limits_.max_head_bytes, " bytes"), &done);
  if (state_ != State::kIncomplete || !done) return used;
  trailer_bytes_ += line_.size() + 2;
  if (line_.empty()) {
    Complete();
    return used;
  }
  std::string_view name, value;
  std::string why;
  if (!ParseField(line_, &name, &value, &why)) {
    Fail(Cat("trailer: ", why));
    return used;
  }
  response_.trailers.Add(name, value);
  line_.clear();
  return used;
}

}  // namespace tide::httpc
