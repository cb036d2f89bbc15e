#pragma once

// The address rule of `tide serve --model-control-trust-loopback`: which gRPC
// peers count as "this pod's own loopback" (Seldon Core 2's agent, which
// loads models without a token from 127.0.0.1). docs/model-control.md gives
// the threat model.

#include <string_view>

namespace tide::server {

// Whether `grpc_peer` (grpc::ServerContext::peer(): "ipv4:127.0.0.1:41234",
// "ipv6:[::1]:41234" or, from gRPC 1.4x on, "ipv6:%5B::1%5D:41234") is a TCP
// peer at exactly 127.0.0.1 or ::1, or ::ffff:127.0.0.1 (127.0.0.1 as a
// dual-stack IPv6 socket reports it). Not the rest of 127.0.0.0/8: Istio's
// sidecar forwards outside traffic to the app from 127.0.0.6. Anything else
// (other addresses, unix: peers, a missing or malformed port, "") is false.
bool IsLoopbackGrpcPeer(std::string_view grpc_peer);

}  // namespace tide::server
