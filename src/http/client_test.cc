#include "http/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace tide::httpc {
namespace {

// A one-thread server on 127.0.0.1:0. For each connection it accepts it
// calls `serve(fd)`, which reads and writes as the test needs.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int fd)> serve) : serve_(std::move(serve)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listen_fd_, 16);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        ++accepted_;
        serve_(fd);
        close(fd);
        ++closed_;
      }
    });
  }
  ~ScriptedServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }
  int closed() const { return closed_; }

 private:
  std::function<void(int)> serve_;
  int listen_fd_;
  uint16_t port_;
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_{0};
  std::thread thread_;
};

// Reads one request head (requests here have no body); false at the end.
bool ReadHead(int fd, std::string* head) {
  head->clear();
  char c;
  while (head->find("\r\n\r\n") == std::string::npos) {
    if (read(fd, &c, 1) != 1) return false;
    head->push_back(c);
  }
  return true;
}

void Write(int fd, std::string_view s) { (void)!write(fd, s.data(), s.size()); }

TEST(Client, KeepAliveConnectionIsReused) {
  std::vector<std::string> heads;
  ScriptedServer server([&](int fd) {
    std::string head;
    while (ReadHead(fd, &head)) {
      heads.push_back(head);
      Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-N: " + std::to_string(heads.size()) +
                    "\r\n\r\nok");
    }
  });
  Client client;
  for (int i = 1; i <= 3; ++i) {
    auto r = client.Send("127.0.0.1", server.port(), Request());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "ok");
    EXPECT_EQ(r->headers.GetOr("x-n"), std::to_string(i));
    EXPECT_EQ(client.idle_connections(), 1);
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(heads[0],
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n\r\n");
}

TEST(Client, ClosingAnswersAreNotPooled) {
  ScriptedServer server([](int fd) {
    std::string head;
    ReadHead(fd, &head);
    Write(fd, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nnone here");
  });
  ClientOptions o;
  Client client(o);
  for (int i = 0; i < 2; ++i) {
    auto r = client.Send("127.0.0.1", server.port(), Request());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "none here");
    EXPECT_EQ(client.idle_connections(), 0);
  }
  EXPECT_EQ(server.accepted(), 2);
}

TEST(Client, StalePooledConnectionIsReplaced) {
  // The server answers one request per connection, keep-alive, then closes.
  ScriptedServer server([](int fd) {
    std::string head;
    ReadHead(fd, &head);
    Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  });
  Client client;
  ASSERT_TRUE(client.Send("127.0.0.1", server.port(), Request()).ok());
  // Once the server has closed its side, the pooled connection is stale.
  while (server.closed() < 1) std::this_thread::yield();
  EXPECT_EQ(client.idle_connections(), 1);
  auto r = client.Send("127.0.0.1", server.port(), Request());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(Client, EarlyAnswerWhileTheBodyIsStillGoing) {
  ScriptedServer server([](int fd) {
    std::string head;
    ReadHead(fd, &head);
    Write(fd,
          "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig");
    shutdown(fd, SHUT_WR);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  Request r;
  r.method = "POST";
  r.body = std::string(64 << 20, 'x');
  ClientOptions o;
  o.read_timeout = absl::Seconds(10);
  Client client(o);
  auto got = client.Send("127.0.0.1", server.port(), r);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, 413);
  EXPECT_EQ(got->body, "big");
}

TEST(Client, Errors) {
  // Refused: a port nobody listens on (bound, never listening).
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  Client client;
  auto refused = client.Send("127.0.0.1", ntohs(a.sin_port), Request());
  close(fd);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      refused.status().message(),
      "connecting to 127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + ": Connection refused");

  std::atomic<bool> release{false};
  ScriptedServer silent([&](int fd) {
    std::string head;
    ReadHead(fd, &head);
    Write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  ClientOptions o;
  o.read_timeout = absl::Milliseconds(100);
  Client impatient(o);
  auto slow = impatient.Send("127.0.0.1", silent.port(), Request());
  release = true;
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(slow.status().message(),
            "no answer from 127.0.0.1:" + std::to_string(silent.port()) + " within 100ms");

  ScriptedServer garbage([](int fd) {
    std::string head;
    ReadHead(fd, &head);
    Write(fd, "SSH-2.0-OpenSSH\r\n\r\n");
  });
  auto bad = client.Send("127.0.0.1", garbage.port(), Request());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(bad.status().message(), "bad answer from 127.0.0.1:" + std::to_string(garbage.port()) +
                                        ": bad status line 'SSH-2.0-OpenSSH'");

  ScriptedServer hangup([](int fd) {
    std::string head;
    ReadHead(fd, &head);
  });
  auto cut = client.Send("127.0.0.1", hangup.port(), Request());
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(cut.status().message(), "reading from 127.0.0.1:" + std::to_string(hangup.port()) +
                                        ": connection closed before response");
}

}  // namespace
}  // namespace tide::httpc
