// The router's response parser on the shared client library's incremental
// parser (src/http/response_parser.h).

#include "fleet/upstream_parser.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "http/response_parser.h"

namespace tide::fleet {
namespace {

class SharedResponseParser final : public ResponseParser {
 public:
  explicit SharedResponseParser(size_t max_body_bytes)
      : parser_(httpc::ParserLimits{.max_head_bytes = 64 << 10, .max_body_bytes = max_body_bytes}) {
  }

  void Reset(bool head) override {
    parser_.Reset();
    parser_.set_head_request(head);
  }

  absl::StatusOr<size_t> Feed(std::string_view data) override {
    size_t used = parser_.Feed(data);
    if (parser_.state() == httpc::ResponseParser::State::kError) {
      return absl::UnavailableError(
          absl::StrCat("the replica's response is not valid HTTP/1.1: ", parser_.error()));
    }
    return used;
  }

  bool FinishAtEof() override {
    if (done()) return true;
    return parser_.FinishEof() == httpc::ResponseParser::State::kComplete;
  }

  bool done() const override { return parser_.state() == httpc::ResponseParser::State::kComplete; }
  bool started() const override { return parser_.started(); }

  UpstreamResponse Take() override {
    httpc::Response in = parser_.Take();
    UpstreamResponse r;
    r.status = in.status;
    r.keep_alive = in.keep_alive;
    r.headers.reserve(in.headers.size());
    for (size_t i = 0; i < in.headers.size(); ++i) {
      r.headers.emplace_back(absl::AsciiStrToLower(std::string(in.headers.name(i))),
                             std::string(in.headers.value(i)));
    }
    r.body = std::move(in.body);
    return r;
  }

 private:
  httpc::ResponseParser parser_;
};

}  // namespace

std::unique_ptr<ResponseParser> NewResponseParser(size_t max_body_bytes) {
  return std::make_unique<SharedResponseParser>(max_body_bytes);
}

}  // namespace tide::fleet
