#include "loadgen/testing/fake_http_server.h"
#include "loadgen/text.h"

#include <chrono>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/write.hpp"

namespace tide::loadgen::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

}  // namespace

class FakeHttpServer::Impl {
 public:
  Impl(FakeHttpServer* owner, FakeBehaviour behaviour)
      : owner_(owner), behaviour_(std::move(behaviour)), acceptor_(ioc_) {}

  absl::Status Listen() {
    boost::system::error_code ec;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(1024, ec);
    if (ec) return absl::InternalError(Cat("fake server: ", ec.message()));
    owner_->port_ = acceptor_.local_endpoint().port();
    Accept();
    return absl::OkStatus();
  }

  void Run() { ioc_.run(); }
  void Stop() { ioc_.stop(); }

 private:
  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(Impl* impl, tcp::socket s)
        : impl(impl), socket(std::move(s)), timer(socket.get_executor()) {}
    Impl* impl;
    tcp::socket socket;
    asio::steady_timer timer;
    std::string in;
    std::string out;
    char chunk[8192];

    void ReadMore() {
      auto self = shared_from_this();
      socket.async_read_some(asio::buffer(chunk),
                             [self](const boost::system::error_code& ec, size_t n) {
                               if (ec) return;
                               self->in.append(self->chunk, n);
                               self->TryRequest();
                             });
    }

    void TryRequest() {
      size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) {
        ReadMore();
        return;
      }
      FakeRequest req;
      std::string_view head(in.data(), end);
      size_t eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      size_t sp1 = line.find(' ');
      size_t sp2 = line.find(' ', sp1 + 1);
      req.method = std::string(line.substr(0, sp1));
      req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
      int64_t content_length = 0;
      std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
      while (!rest.empty()) {
        size_t next = rest.find("\r\n");
        std::string_view h = rest.substr(0, next);
        rest = next == std::string_view::npos ? "" : rest.substr(next + 2);
        size_t colon = h.find(':');
        if (colon == std::string_view::npos) continue;
        std::string name(h.substr(0, colon));
        std::string value(Trim(h.substr(colon + 1)));
        if (EqualsIgnoreCase(name, "content-length")) {
          (void)ParseInt(value, &content_length);
        }
        req.headers.emplace_back(std::move(name), std::move(value));
      }
      if (in.size() < end + 4 + static_cast<size_t>(content_length)) {
        ReadMore();
        return;
      }
      req.body = in.substr(end + 4, content_length);
      in.erase(0, end + 4 + content_length);
      req.arrival_ns = SteadyNs() - impl->owner_->start_ns_;
      req.index = impl->owner_->requests_.fetch_add(1);
      FakeReply reply = impl->behaviour_(req);
      if (reply.no_reply) {
        ReadMore();  // keeps the connection open; never answers
        return;
      }
      out = Cat("HTTP/1.1 ", reply.status, " ", Reason(reply.status),
                "\r\nContent-Type: ", reply.content_type, "\r\n");
      for (const auto& [n, v] : reply.headers) Append(&out, n, ": ", v, "\r\n");
      if (reply.close) out += "Connection: close\r\n";
      if (reply.chunked) {
        Append(&out, "Transfer-Encoding: chunked\r\n\r\n");
        size_t half = reply.body.size() / 2;
        for (std::string_view part : {std::string_view(reply.body).substr(0, half),
                                      std::string_view(reply.body).substr(half)}) {
          if (!part.empty()) Append(&out, fmt::format("{:x}", part.size()), "\r\n", part, "\r\n");
        }
        out += "0\r\n\r\n";
      } else {
        Append(&out, "Content-Length: ", reply.body.size(), "\r\n\r\n", reply.body);
      }
      const bool close = reply.close;
      const int64_t due = impl->owner_->start_ns_ + req.arrival_ns + reply.delay_ns;
      auto self = shared_from_this();
      auto write = [self, close] {
        asio::async_write(self->socket, asio::buffer(self->out),
                          [self, close](const boost::system::error_code& ec, size_t) {
                            if (ec) return;
                            if (close) {
                              boost::system::error_code ignored;
                              self->socket.shutdown(tcp::socket::shutdown_both, ignored);
                              self->socket.close(ignored);
                              return;
                            }
                            self->TryRequest();
                          });
      };
      if (reply.delay_ns <= 0) {
        write();
        return;
      }
      timer.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due)));
      timer.async_wait([write](const boost::system::error_code& ec) {
        if (!ec) write();
      });
    }
  };

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) return;
      owner_->connections_.fetch_add(1);
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto conn = std::make_shared<Conn>(this, std::move(socket));
      conn->TryRequest();
      Accept();
    });
  }

  FakeHttpServer* owner_;
  FakeBehaviour behaviour_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
};

absl::StatusOr<std::unique_ptr<FakeHttpServer>> FakeHttpServer::Start(FakeBehaviour behaviour) {
  std::unique_ptr<FakeHttpServer> server(new FakeHttpServer());
  server->start_ns_ = SteadyNs();
  server->impl_ = std::make_unique<Impl>(server.get(), std::move(behaviour));
  absl::Status st = server->impl_->Listen();
  if (!st.ok()) return st;
  server->thread_ = std::thread([impl = server->impl_.get()] { impl->Run(); });
  return server;
}

FakeHttpServer::~FakeHttpServer() {
  if (impl_) impl_->Stop();
  if (thread_.joinable()) thread_.join();
}

uint16_t UnusedPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

}  // namespace tide::loadgen::testing
