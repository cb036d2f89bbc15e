// libFuzzer target: the HTTP/1.1 response parser (http/response_parser.h) and
// the client connection around it (http/connection.h), which read what
// servers tide does not control send (tide load, the router of tide up).
// Any input must give responses or an error, never a crash or a hang, and
// the verdict must not depend on how the bytes were split into reads: the
// input is parsed whole, a byte at a time, and in pieces whose sizes the
// first input byte picks, and the three must agree exactly.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/connection.h"
#include "http/response_parser.h"

namespace {

using tide::httpc::ParserLimits;
using tide::httpc::Response;
using tide::httpc::ResponseParser;

// Every response on the "connection", then the error or "eof" / "open".
std::string Run(std::string_view data, size_t piece, bool head_first) {
  ParserLimits limits;
  limits.max_head_bytes = 1024;
  limits.max_body_bytes = 4096;
  ResponseParser p(limits);
  std::string out;
  bool head = head_first;
  auto take = [&] {
    Response r = p.Take();
    if (r.status < 100 || r.status > 599) std::abort();
    if (r.body.size() > limits.max_body_bytes) std::abort();
    out += std::to_string(r.status) + " " + std::to_string(r.keep_alive) + " " +
           std::to_string(r.headers.size()) + "/" + std::to_string(r.trailers.size()) + " [" +
           r.body + "]\n";
    head = false;
  };
  size_t at = 0;
  while (at < data.size()) {
    std::string_view chunk = data.substr(at, piece == 0 ? data.size() : piece);
    size_t used_here = 0;
    while (used_here < chunk.size()) {
      p.set_head_request(head);
      size_t used = p.Feed(chunk.substr(used_here));
      if (used > chunk.size() - used_here) std::abort();
      used_here += used;
      if (p.state() == ResponseParser::State::kError) return out + "error: " + p.error();
      if (p.state() == ResponseParser::State::kComplete) {
        take();
      } else if (used_here < chunk.size()) {
        std::abort();  // an incomplete parser takes every byte offered
      }
    }
    at += chunk.size();
  }
  p.set_head_request(head);
  if (p.FinishEof() == ResponseParser::State::kComplete) take();
  if (p.state() == ResponseParser::State::kError) return out + "eof error: " + p.error();
  return out + "eof";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + bytes[0] % 17;
  const bool head = bytes[0] & 0x80;
  std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  const std::string whole = Run(data, 0, head);
  const std::string bytewise = Run(data, 1, head);
  const std::string pieces = Run(data, piece, head);
  if (whole != bytewise || whole != pieces) {
    std::fprintf(stderr,
                 "split-dependent parse:\n--- whole\n%s\n--- bytewise\n%s\n--- pieces\n%s\n",
                 whole.c_str(), bytewise.c_str(), pieces.c_str());
    std::abort();
  }
  // The connection: two pipelined requests (the first HEAD when asked).
  tide::httpc::ClientConnection c;
  tide::httpc::Request r;
  r.method = head ? "HEAD" : "GET";
  (void)c.Send(r, "h:1");
  (void)c.Send(tide::httpc::Request(), "h:1");
  c.Wrote(c.output().size());
  if (c.Receive(data).ok()) (void)c.ReceiveEof();
  while (c.has_response()) c.PopResponse();
  return 0;
}
