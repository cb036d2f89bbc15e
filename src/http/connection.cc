#include "http/connection.h"

#include <utility>

#include "common/text.h"

namespace tide::httpc {

absl::Status ClientConnection::Send(const Request& request, std::string_view default_host) {
  if (!error_.ok() || eof_ || closing_) {
    return absl::FailedPreconditionError("the connection cannot carry another request");
  }
  if (out_at_ == out_.size()) {
    out_.clear();
    out_at_ = 0;
  }
  out_ += SerializeRequest(request, default_host);
  expected_.push_back(request.method == "HEAD");
  if (!request.keep_alive) closing_ = true;
  return absl::OkStatus();
}

void ClientConnection::Wrote(size_t n) {
  out_at_ += n;
  if (out_at_ >= out_.size()) {
    out_.clear();
    out_at_ = 0;
  }
}

absl::Status ClientConnection::Receive(std::string_view data) {
  while (!data.empty()) {
    if (!error_.ok()) return error_;
    if (expected_.empty()) {
      error_ = absl::InternalError(common::Cat(data.size(),
                                               " bytes from the server with no "
                                               "request outstanding"));
      return error_;
    }
    parser_.set_head_request(expected_.front());
    data.remove_prefix(parser_.Feed(data));
    if (parser_.state() == ResponseParser::State::kError) {
      error_ = absl::InternalError(parser_.error());
      return error_;
    }
    if (parser_.state() == ResponseParser::State::kComplete) {
      expected_.pop_front();
      ready_.push_back(parser_.Take());
      if (!ready_.back().keep_alive) closing_ = true;
      if (closing_ && !data.empty()) {
        error_ = absl::InternalError(
            common::Cat(data.size(), " bytes after a response that closes the connection"));
        return error_;
      }
    }
  }
  return error_;
}

absl::Status ClientConnection::ReceiveEof() {
  eof_ = true;
  if (!error_.ok() || expected_.empty()) return error_;
  parser_.set_head_request(expected_.front());
  if (parser_.FinishEof() == ResponseParser::State::kComplete) {
    expected_.pop_front();
    ready_.push_back(parser_.Take());
  }
  if (!expected_.empty()) {
    error_ = absl::UnavailableError(parser_.state() == ResponseParser::State::kError
                                        ? parser_.error()
                                        : "connection closed before response");
  }
  return error_;
}

Response ClientConnection::PopResponse() {
  Response r = std::move(ready_.front());
  ready_.pop_front();
  return r;
}

bool ClientConnection::reusable() const {
  return error_.ok() && !eof_ && !closing_ && expected_.empty() && out_at_ == out_.size() &&
         ready_.empty();
}

}  // namespace tide::httpc
