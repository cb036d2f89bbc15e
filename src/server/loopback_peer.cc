#include "server/loopback_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace tide::server {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool IsLoopbackGrpcPeer(std::string_view peer) {
  if (peer.find('\0') != std::string_view::npos) return false;  // inet_pton stops at a NUL
  constexpr std::string_view kV4 = "ipv4:", kV6 = "ipv6:";
  if (peer.substr(0, kV4.size()) == kV4) {
    std::string_view rest = peer.substr(kV4.size());
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || !AllDigits(rest.substr(colon + 1))) return false;
    in_addr a;
    if (inet_pton(AF_INET, std::string(rest.substr(0, colon)).c_str(), &a) != 1) return false;
    return ntohl(a.s_addr) == INADDR_LOOPBACK;  // 127.0.0.1 only
  }
  if (peer.substr(0, kV6.size()) != kV6) return false;  // unix:, "" and the rest
  std::string_view rest = peer.substr(kV6.size());
  std::string_view host;
  for (auto [open, close] : {std::pair<std::string_view, std::string_view>{"[", "]"},
                             std::pair<std::string_view, std::string_view>{"%5B", "%5D"}}) {
    if (rest.substr(0, open.size()) != open) continue;
    size_t end = rest.find(close, open.size());
    if (end == std::string_view::npos) return false;
    std::string_view port = rest.substr(end + close.size());
    if (port.empty() || port[0] != ':' || !AllDigits(port.substr(1))) return false;
    host = rest.substr(open.size(), end - open.size());
  }
  if (host.empty()) return false;
  in6_addr a;
  if (inet_pton(AF_INET6, std::string(host).c_str(), &a) != 1) return false;
  static const unsigned char kMapped127001[16] = {0, 0, 0,    0,    0,   0, 0, 0,
                                                  0, 0, 0xff, 0xff, 127, 0, 0, 1};
  return IN6_IS_ADDR_LOOPBACK(&a) || std::memcmp(&a, kMapped127001, 16) == 0;
}

}  // namespace tide::server
