// libFuzzer target: the V2 JSON/binary request decoder and the response
// encoder, on arbitrary bytes. The first two bytes choose a binary header
// length so the binary-extension framing is exercised too. Every error body
// and every encoded response must be valid JSON (and so valid UTF-8): binary
// BYTES and FP32 inputs carry arbitrary bytes, NaN and infinities into the
// encoder.

#include <cstddef>
#include <cstdint>
#include <string>

#include "frontends/http/http_types.h"
#include "frontends/http/v2_codec.h"
#include "simdjson.h"

namespace {

bool ValidJson(std::string_view s) {
  static simdjson::dom::parser parser;
  simdjson::padded_string copy(s);
  return parser.parse(copy).error() == simdjson::SUCCESS;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<size_t> header_length;
  if (size >= 2 && data[0] == 0xB1) {
    header_length = data[1];
    data += 2;
    size -= 2;
  }
  std::string body(reinterpret_cast<const char*>(data), size);
  auto request = tide::http::DecodeInferRequest(body, header_length);
  if (!request.ok()) {
    auto error = tide::http::ErrorResponse(400, std::string(request.status().message()));
    if (!ValidJson(error.body)) __builtin_trap();
  } else {
    // Whatever decodes must encode back without trouble: every output as
    // JSON, then some of them binary.
    for (int mode = 0; mode < 2; ++mode) {
      tide::core::InferResponse response;
      response.model_name = "m";
      for (const auto& t : request->inputs) {
        response.outputs.push_back(t);
        response.binary.push_back(mode == 1 && t.data.size() % 2 == 0);
      }
      auto enc = tide::http::EncodeInferResponse(response);
      if (enc.header_length && *enc.header_length > enc.body.size()) __builtin_trap();
      if (!ValidJson(
              std::string_view(enc.body).substr(0, enc.header_length.value_or(enc.body.size()))))
        __builtin_trap();
    }
  }
  return 0;
}
