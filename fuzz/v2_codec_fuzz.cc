// libFuzzer target: the V2 JSON/binary request decoder and the response
// encoder, on arbitrary bytes. The first two bytes choose a binary header
// length so the binary-extension framing is exercised too.

#include <cstddef>
#include <cstdint>
#include <string>

#include "frontends/http/v2_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<size_t> header_length;
  if (size >= 2 && data[0] == 0xB1) {
    header_length = data[1];
    data += 2;
    size -= 2;
  }
  std::string body(reinterpret_cast<const char*>(data), size);
  auto request = tide::http::DecodeInferRequest(body, header_length);
  if (request.ok()) {
    // Whatever decodes must encode back without trouble.
    tide::core::InferResponse response;
    response.model_name = "m";
    for (const auto& t : request->inputs) {
      response.outputs.push_back(t);
      response.binary.push_back(t.data.size() % 2 == 0);
    }
    auto enc = tide::http::EncodeInferResponse(response);
    if (enc.header_length && *enc.header_length > enc.body.size()) __builtin_trap();
  }
  return 0;
}
