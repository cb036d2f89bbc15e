#include "server/loopback_peer.h"

#include <string>

#include "gtest/gtest.h"

namespace tide::server {
namespace {

struct Case {
  std::string peer;
  bool trusted;
};

TEST(LoopbackPeer, OnlyExactLoopbackAddressesAreTrusted) {
  const Case kCases[] = {
      // The agent: 127.0.0.1 (Seldon dials 0.0.0.0 or localhost) or ::1.
      {"ipv4:127.0.0.1:41234", true},
      {"ipv6:[::1]:41234", true},
      {"ipv6:%5B::1%5D:41234", true},  // gRPC 1.4x+ percent-encodes the brackets
      {"ipv6:[0:0:0:0:0:0:0:1]:1", true},
      // 127.0.0.1 seen through a dual-stack IPv6 socket.
      {"ipv6:[::ffff:127.0.0.1]:41234", true},
      {"ipv6:%5B::ffff:127.0.0.1%5D:41234", true},
      // The rest of 127.0.0.0/8: Istio's sidecar forwards from 127.0.0.6.
      {"ipv4:127.0.0.6:41234", false},
      {"ipv4:127.0.0.2:41234", false},
      {"ipv4:127.1.0.1:41234", false},
      {"ipv6:[::ffff:127.0.0.6]:41234", false},
      // Other hosts, pod and node addresses.
      {"ipv4:10.0.0.7:41234", false},
      {"ipv4:192.0.2.2:41234", false},
      {"ipv4:0.0.0.0:41234", false},
      {"ipv6:[fd00::2]:41234", false},
      {"ipv6:[::]:41234", false},
      {"ipv6:[::2]:41234", false},
      {"ipv6:[::ffff:10.0.0.7]:41234", false},
      {"ipv6:[::127.0.0.1]:41234", false},  // IPv4-compatible, not mapped
      // Not TCP, or not what gRPC writes.
      {"unix:/tmp/tide.sock", false},
      {"unix:", false},
      {"", false},
      {"ipv4:127.0.0.1", false},
      {"ipv4:127.0.0.1:", false},
      {"ipv4:127.0.0.1:80x", false},
      {"ipv4:127.0.0.1:123456", false},
      {"ipv4:127.0.0.01:1", false},
      {"ipv4:localhost:1", false},
      {"ipv4: 127.0.0.1:1", false},
      {"IPV4:127.0.0.1:1", false},
      {"ipv6:::1:41234", false},
      {"ipv6:[::1]", false},
      {"ipv6:[::1]41234", false},
      {"ipv6:[::1:41234", false},
      {"ipv6:%5B::1]:41234", false},
      {"ipv6:[::1%lo]:41234", false},
      {"ipv4:127.0.0.1:1\n", false},
      {std::string("ipv4:127.0.0.1\0:1", 17), false},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(IsLoopbackGrpcPeer(c.peer), c.trusted) << "peer '" << c.peer << "'";
  }
}

}  // namespace
}  // namespace tide::server
