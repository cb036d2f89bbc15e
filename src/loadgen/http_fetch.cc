#include "loadgen/http_fetch.h"

#include <chrono>
#include <functional>
#include <vector>

#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/write.hpp"
#include "loadgen/text.h"

namespace tide::loadgen {

absl::StatusOr<HttpResponse> FetchOnce(const Url& url, std::string_view method,
                                       std::string_view target, absl::Duration timeout) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  asio::io_context ioc(1);
  tcp::resolver resolver(ioc);
  tcp::socket socket(ioc);
  const std::string request = SerializeRequest(method, url, target, {}, "");
  std::vector<char> buf(64 * 1024);
  size_t len = 0;
  HttpResponseParser parser;
  absl::Status status = absl::DeadlineExceededError(
      Cat("no answer from ", url.HostPort(), " within ", absl::FormatDuration(timeout)));
  HttpResponse response;

  std::function<void()> read = [&] {
    if (len == buf.size()) buf.resize(buf.size() * 2);
    socket.async_read_some(
        asio::buffer(buf.data() + len, buf.size() - len),
        [&](const boost::system::error_code& ec, size_t n) {
          const bool eof = ec == asio::error::eof;
          if (ec && !eof) {
            status =
                absl::UnavailableError(Cat("reading from ", url.HostPort(), ": ", ec.message()));
            return;
          }
          len += n;
          auto st = parser.Parse(std::string_view(buf.data(), len), eof);
          if (st == HttpResponseParser::State::kIncomplete) {
            read();
          } else if (st == HttpResponseParser::State::kError) {
            status =
                absl::InternalError(Cat("bad answer from ", url.HostPort(), ": ", parser.error()));
          } else {
            response = parser.Take();
            status = absl::OkStatus();
          }
        });
  };
  resolver.async_resolve(
      url.host, std::to_string(url.port),
      [&](const boost::system::error_code& ec, tcp::resolver::results_type endpoints) {
        if (ec) {
          status = absl::UnavailableError(Cat("resolving ", url.host, ": ", ec.message()));
          return;
        }
        asio::async_connect(
            socket, endpoints, [&](const boost::system::error_code& ec, const tcp::endpoint&) {
              if (ec) {
                status = absl::UnavailableError(
                    Cat("connecting to ", url.HostPort(), ": ", ec.message()));
                return;
              }
              asio::async_write(socket, asio::buffer(request),
                                [&](const boost::system::error_code& ec, size_t) {
                                  if (ec) {
                                    status = absl::UnavailableError(
                                        Cat("writing to ", url.HostPort(), ": ", ec.message()));
                                    return;
                                  }
                                  read();
                                });
            });
      });
  ioc.run_for(std::chrono::nanoseconds(absl::ToInt64Nanoseconds(timeout)));
  return status.ok() ? absl::StatusOr<HttpResponse>(std::move(response))
                     : absl::StatusOr<HttpResponse>(status);
}

}  // namespace tide::loadgen
