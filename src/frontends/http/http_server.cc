#include "frontends/http/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "spdlog/spdlog.h"

namespace tide::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

const std::string& HttpRequest::Header(const std::string& name) const {
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

struct HttpServer::Impl {
  // Declared before the io_context: sessions destroyed with it still use them.
  Options options;
  std::atomic<int> connections{0};
  std::atomic<int> pending{0};  // requests handed to the handler, response not yet written
  std::atomic<bool> stopped{false};
  uint16_t port = 0;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;

  void Accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}
  ~Session() {
    WriteDone();
    server_->connections.fetch_sub(1);
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  // Answers and closes a connection refused for being over the limit.
  void Refuse() {
    auto self = shared_from_this();
    HttpResponse r = ErrorResponse(503, "too many connections; retry later", 1);
    r.close = true;
    asio::dispatch(stream_.get_executor(),
                   [self, r = std::move(r)]() mutable { self->Write(std::move(r)); });
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->options.max_header_bytes));
    // The body limit is applied after the header, so that a declared
    // Content-Length over it gets a message naming the size.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(
        std::chrono::nanoseconds(absl::ToInt64Nanoseconds(server_->options.read_timeout)));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return FailRead(ec);
    auto& req = parser_->get();
    if (auto len = parser_->content_length(); len && *len > server_->options.max_body_bytes) {
      return Reject(413,
                    absl::StrCat("request body of ", *len, " bytes is over the limit of ",
                                 server_->options.max_body_bytes, " bytes (--max-body-bytes)"));
    }
    parser_->body_limit(server_->options.max_body_bytes);
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                       req.version());
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                           if (ec) return self->Close();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void FailRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      return Close();
    }
    if (ec == bhttp::error::header_limit) {
      return Reject(431, absl::StrCat("request headers are over the limit of ",
                                      server_->options.max_header_bytes, " bytes"));
    }
    if (ec == bhttp::error::body_limit) {
      return Reject(
          413, absl::StrCat("request body is over the limit of ", server_->options.max_body_bytes,
                            " bytes (--max-body-bytes)"));
    }
    if (ec == bhttp::error::partial_message) return Close();
    Reject(400, absl::StrCat("malformed HTTP request: ", ec.message()));
  }

  void Reject(int status, const std::string& message) {
    HttpResponse r = ErrorResponse(status, message);
    r.close = true;
    Write(std::move(r));
  }

  void OnRead(beast::error_code ec) {
    if (ec) return FailRead(ec);
    // The handler may take as long as inference takes; no read deadline meanwhile.
    stream_.expires_never();
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    std::string_view path(r.target);
    if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    r.path = std::string(path);
    for (const auto& f : req) {
      r.headers.emplace_back(absl::AsciiStrToLower(std::string(f.name_string())),
                             std::string(f.value()));
    }
    r.body = std::move(req.body());
    auto self = shared_from_this();
    server_->pending.fetch_add(1);
    awaiting_write_ = true;
    server_->options.handler(std::move(r), [self](HttpResponse resp) {
      asio::post(self->stream_.get_executor(),
                 [self, resp = std::move(resp)]() mutable { self->Write(std::move(resp)); });
    });
  }

  void Write(HttpResponse r) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(version_);
    res->result(static_cast<unsigned>(r.status));
    res->set(bhttp::field::server, "tide");
    res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    bool close = r.close || !keep_alive_ || server_->stopped;
    res->keep_alive(!close);
    res->prepare_payload();
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
                         self->WriteDone();
                         if (ec || close) return self->Close();
                         self->ReadHeader();
                       });
  }

  void WriteDone() {
    if (awaiting_write_) {
      awaiting_write_ = false;
      server_->pending.fetch_sub(1);
    }
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = true;
  bool awaiting_write_ = false;
  unsigned version_ = 11;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopped) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      int n = connections.fetch_add(1) + 1;
      auto session = std::make_shared<Session>(std::move(socket), this);
      if (n > options.max_connections) {
        session->Refuse();
      } else {
        session->Start();
      }
    }
    Accept();
  });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(Options options) {
  if (!options.handler) return absl::InvalidArgumentError("HttpServer needs a handler");
  if (options.threads < 1) return absl::InvalidArgumentError("--http-threads must be at least 1");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  beast::error_code ec;
  auto address = asio::ip::make_address(impl->options.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--host '", impl->options.host, "' is not an IP address: ", ec.message()));
  }
  tcp::endpoint endpoint(address, impl->options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", impl->options.host, ":",
                                               impl->options.port, " (", impl->options.name,
                                               "): ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  for (int i = 0; i < impl->options.threads; ++i) {
    impl->threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const { return impl_->port; }
int HttpServer::connections() const { return impl_->connections.load(); }

bool HttpServer::WaitForResponses(absl::Duration timeout) {
  absl::Time end = absl::Now() + timeout;
  while (impl_->pending.load() > 0) {
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

void HttpServer::Stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

}  // namespace tide::http
