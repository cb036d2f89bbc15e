// The demo's keep-alive client against a raw server on 127.0.0.1 that closes
// each connection after one answer without saying so (as a server closes an
// idle keep-alive connection).

#include "fleet/demo_traffic.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace tide::fleet {
namespace {

TEST(KeepAliveClientTest, SendsAgainWhenAReusedConnectionWasClosedWhileIdle) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(ls, 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
  std::atomic<int> connections{0};
  std::thread server([&] {
    for (int i = 0; i < 2; ++i) {
      int c = accept(ls, nullptr, nullptr);
      if (c < 0) return;
      ++connections;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos || req.find("}") == std::string::npos) {
        ssize_t n = recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      close(c);  // keep-alive promised, then closed: the next request finds it closed
    }
  });
  KeepAliveClient client(ntohs(addr.sin_port), absl::Seconds(5));
  std::string body;
  auto first = client.Post("/x", "{}", &body);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 200);
  EXPECT_EQ(body, "ok");
  absl::SleepFor(absl::Milliseconds(50));  // the server's close has arrived
  auto second = client.Post("/x", "{}", &body);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, 200);
  EXPECT_EQ(connections.load(), 2);
  server.join();
  close(ls);
}

}  // namespace
}  // namespace tide::fleet
