// The router's response parser on Boost.Beast's response_parser (the only
// file of the router that knows Beast).

#include "fleet/upstream_parser.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/beast/http.hpp"

namespace tide::fleet {
namespace {

namespace bhttp = boost::beast::http;

class BeastResponseParser final : public ResponseParser {
 public:
  explicit BeastResponseParser(size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {
    Reset(false);
  }

  void Reset(bool head) override {
    parser_.emplace();
    parser_->eager(true);
    parser_->body_limit(max_body_bytes_);
    parser_->header_limit(64 << 10);
    if (head) parser_->skip(true);
    started_ = false;
  }

  absl::StatusOr<size_t> Feed(std::string_view data) override {
    size_t used = 0;
    while (used < data.size() && !parser_->is_done()) {
      boost::system::error_code ec;
      size_t n = parser_->put(boost::asio::buffer(data.data() + used, data.size() - used), ec);
      used += n;
      if (n > 0) started_ = true;
      if (ec == bhttp::error::need_more) {
        // Beast keeps nothing of an incomplete header: the caller must
        // present those bytes again, with more.
        break;
      }
      if (ec) {
        return absl::UnavailableError(
            absl::StrCat("the replica's response is not valid HTTP/1.1: ", ec.message()));
      }
      if (n == 0) break;
    }
    return used;
  }

  bool FinishAtEof() override {
    if (parser_->is_done()) return true;
    if (!parser_->is_header_done()) return false;
    boost::system::error_code ec;
    parser_->put_eof(ec);
    return !ec && parser_->is_done();
  }

  bool done() const override { return parser_->is_done(); }
  bool started() const override { return started_; }

  UpstreamResponse Take() override {
    UpstreamResponse r;
    auto& m = parser_->get();
    r.status = static_cast<int>(m.result_int());
    r.keep_alive = m.keep_alive();
    r.headers.reserve(8);
    for (const auto& f : m) {
      r.headers.emplace_back(absl::AsciiStrToLower(std::string(f.name_string())),
                             std::string(f.value()));
    }
    r.body = std::move(m.body());
    return r;
  }

 private:
  const size_t max_body_bytes_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<ResponseParser> NewResponseParser(size_t max_body_bytes) {
  return std::make_unique<BeastResponseParser>(max_body_bytes);
}

}  // namespace tide::fleet
