#pragma once

// The KServe V2 JSON codec, with Triton's binary tensor data extension:
// bytes ⇄ InferRequest / InferResponse. Pure functions of their inputs (no
// I/O, no globals beyond a thread-local parser), unit-tested and fuzzed.
//
// Request body: JSON, optionally followed by binary tensor data when the
// `Inference-Header-Content-Length` header gives the JSON's length. An input
// whose parameters carry `binary_data_size` takes its bytes from the binary
// part, in input order. Every error is InvalidArgument naming what is wrong.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/infer.h"

namespace tide::http {

// `header_length`: the Inference-Header-Content-Length value, if present.
absl::StatusOr<core::InferRequest> DecodeInferRequest(std::string body,
                                                      std::optional<size_t> header_length);

struct EncodedResponse {
  std::string body;
  std::optional<size_t> header_length;  // set when binary data follows the JSON
};

EncodedResponse EncodeInferResponse(const core::InferResponse& response);

// InvalidArgument naming the output and element when an output to be sent
// as JSON is a BYTES tensor with an element that is not UTF-8 text: a JSON
// string cannot carry it without loss, and binary data can.
absl::Status CheckJsonEncodable(const core::InferResponse& response);

// Parses the Inference-Header-Content-Length header value.
absl::StatusOr<size_t> ParseHeaderLength(const std::string& value, size_t body_size);

// Each thread keeps one JSON parser between requests, but only while its
// capacity is at most this many bytes of JSON: a larger body is parsed by a
// parser of its own, freed when the request is decoded, so one big request
// does not leave its parser's buffers (simdjson On Demand's structural
// indexes, 4 bytes per byte of JSON, and a string buffer) resident on the
// I/O thread.
inline constexpr size_t kMaxCachedParserCapacity = size_t{1} << 20;

// The capacity, in bytes of JSON, of the parser this thread keeps between
// requests (0 before its first request). Exposed for tests.
size_t CachedParserCapacity();

}  // namespace tide::http
