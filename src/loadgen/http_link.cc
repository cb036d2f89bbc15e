// The HTTP/1.1 Link: one asynchronous keep-alive connection (Asio) that
// writes a serialised request and parses the answer with the shared client's
// response parser, then asks the ResponseChecker.

#include <limits>

#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/write.hpp"
#include "loadgen/engine.h"
#include "loadgen/link.h"
#include "loadgen/text.h"

namespace tide::loadgen {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Answers' heads are bounded as they always were; bodies are not (the
// checker judges them).
constexpr httpc::ParserLimits kResponseLimits{64 * 1024, std::numeric_limits<size_t>::max()};

std::string ConnectCause(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return "connect_refused";
  if (ec == asio::error::timed_out) return "connect_timeout";
  if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) {
    return "connect_unreachable";
  }
  return Cat("connect_error: ", ec.message());
}

std::string IoCause(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_reset) return "connection_reset";
  if (ec == asio::error::broken_pipe) return "connection_reset";
  if (ec == asio::error::eof) return "connection_closed";
  return Cat("io_error: ", ec.message());
}

class HttpLink final : public Link {
 public:
  HttpLink(const EngineOptions& opt, asio::io_context& ioc,
           const tcp::resolver::results_type& endpoints, LinkEvents* events)
      : opt_(opt),
        ioc_(ioc),
        endpoints_(endpoints),
        events_(events),
        socket_(ioc),
        parser_(kResponseLimits) {}

  void Connect() override {
    const uint64_t gen = gen_;
    asio::async_connect(socket_, endpoints_,
                        [this, gen](const boost::system::error_code& ec, const tcp::endpoint&) {
                          if (gen != gen_) return;
                          if (ec) {
                            Close();
                            events_->Connected(ConnectCause(ec));
                            return;
                          }
                          boost::system::error_code ignored;
                          socket_.set_option(tcp::no_delay(true), ignored);
                          socket_.non_blocking(true, ignored);
                          events_->Connected("");
                        });
  }

  void Send(size_t request_index) override {
    busy_ = true;
    request_index_ = request_index;
    parser_.Reset();
    const uint64_t gen = gen_;
    const std::string& req = opt_.requests[request_index];
    // Write directly on the non-blocking socket: a request almost always fits
    // the socket buffer, and this saves an event-loop round per request.
    boost::system::error_code ec;
    size_t written = socket_.write_some(asio::buffer(req), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      written = 0;
    }
    if (ec) {
      // Reported from the loop, not from inside the caller.
      asio::post(ioc_, [this, gen, ec] {
        if (gen == gen_ && busy_) Fail(IoCause(ec));
      });
      return;
    }
    if (written < req.size()) {
      asio::async_write(socket_, asio::buffer(req.data() + written, req.size() - written),
                        [this, gen](const boost::system::error_code& ec, size_t) {
                          if (gen != gen_ || !ec || !busy_) return;
                          Fail(IoCause(ec));
                        });
    }
    WaitRead();
  }

  void Close() override {
    ++gen_;
    busy_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
    parser_.Reset();
  }

 private:
  // Waits for readability, then reads without blocking (no speculative read
  // that would almost always find nothing right after the write).
  void WaitRead() {
    const uint64_t gen = gen_;
    socket_.async_wait(tcp::socket::wait_read, [this, gen](const boost::system::error_code& ec) {
      if (gen != gen_ || !busy_) return;
      if (ec) {
        Fail(IoCause(ec));
        return;
      }
      ReadAvailable();
    });
  }

  void ReadAvailable() {
    while (true) {
      const size_t space = buf_.size();
      boost::system::error_code ec;
      const size_t n = socket_.read_some(asio::buffer(buf_.data(), space), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        WaitRead();
        return;
      }
      const bool eof = ec == asio::error::eof;
      if (ec && !eof) {
        Fail(IoCause(ec));
        return;
      }
      const size_t used = parser_.Feed(std::string_view(buf_.data(), n));
      if (eof) parser_.FinishEof();
      const auto state = parser_.state();
      if (state == httpc::ResponseParser::State::kComplete) {
        OnResponse(eof, /*extra=*/used != n);
        return;
      }
      if (state == httpc::ResponseParser::State::kError) {
        Fail(eof && !parser_.started() ? "connection_closed" : "bad_response: " + parser_.error());
        return;
      }
      // Incomplete. A read that filled the buffer may have left more behind
      // (edge-triggered readiness would not fire again): read on. Otherwise
      // everything available was taken: wait for more.
      if (n < space) {
        WaitRead();
        return;
      }
    }
  }

  void OnResponse(bool eof, bool extra) {
    HttpResponse response;
    if (std::string bad = ToHttpResponse(parser_.Take(), &response); !bad.empty()) {
      Fail("bad_response: " + bad);
      return;
    }
    std::string cause = opt_.checker->Check(response, request_index_);
    if (cause.empty() && extra) cause = "bad_response: bytes after the response";
    busy_ = false;
    const bool keep_open = response.keep_alive && !eof && !extra;
    if (!keep_open) Close();
    events_->Answered(response.status, cause, keep_open);
  }

  void Fail(const std::string& cause) {
    Close();
    events_->Answered(0, cause, /*keep_open=*/false);
  }

  const EngineOptions& opt_;
  asio::io_context& ioc_;
  const tcp::resolver::results_type& endpoints_;
  LinkEvents* events_;
  tcp::socket socket_;
  uint64_t gen_ = 0;  // bumped on close: handlers of older generations are ignored
  bool busy_ = false;
  size_t request_index_ = 0;
  std::vector<char> buf_ = std::vector<char>(16 * 1024);
  httpc::ResponseParser parser_;  // fed each read; keeps the answer so far
};

class HttpLinkFactory final : public LinkFactory {
 public:
  HttpLinkFactory(const EngineOptions& opt, asio::io_context& ioc,
                  tcp::resolver::results_type endpoints)
      : opt_(opt), ioc_(ioc), endpoints_(std::move(endpoints)) {}
  std::unique_ptr<Link> NewLink(LinkEvents* events) override {
    return std::make_unique<HttpLink>(opt_, ioc_, endpoints_, events);
  }

 private:
  const EngineOptions& opt_;
  asio::io_context& ioc_;
  tcp::resolver::results_type endpoints_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LinkFactory>> NewHttpLinkFactory(const EngineOptions& options,
                                                                asio::io_context& ioc) {
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(options.target.host, std::to_string(options.target.port), ec);
  if (ec) return absl::UnavailableError(Cat("resolve_error: ", ec.message()));
  return std::make_unique<HttpLinkFactory>(options, ioc, std::move(endpoints));
}

}  // namespace tide::loadgen
