#pragma once

// An inference request and response as the core sees them, independent of
// the protocol (HTTP/JSON, binary extension, gRPC) that carried them.

#include <functional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/tensor.h"

namespace tide::core {

struct RequestedOutput {
  std::string name;
  bool binary = false;  // Triton binary extension: return the data as raw bytes
};

struct InferRequest {
  std::string id;  // echoed in the response
  std::string model_name;
  std::string model_version;  // "" = the model's default (latest) version
  std::vector<Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // empty = every output
  bool binary_outputs = false;           // request-level binary_data_output
  // The V2 `timeout` parameter, or the client's own deadline where the
  // transport carries one (gRPC), whichever is shorter. 0 = the model's default.
  absl::Duration timeout = absl::ZeroDuration();
  // Set by a transport that can tell (gRPC): whether the client has gone
  // (cancelled the call, or its deadline passed). Thread-safe; called from
  // worker threads only until the request's callback has run. A request whose
  // client has gone is answered Cancelled without running.
  std::function<bool()> cancelled;
};

struct InferResponse {
  std::string id;
  std::string model_name;
  std::string model_version;
  std::vector<Tensor> outputs;
  // Per output: send as binary data (inline: no allocation for a few outputs).
  absl::InlinedVector<bool, 8> binary;
};

// Called exactly once per accepted request, on a worker thread.
using InferCallback = std::function<void(absl::StatusOr<InferResponse>)>;

}  // namespace tide::core
