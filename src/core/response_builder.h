#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "core/infer.h"
#include "core/model_config.h"

namespace tide::core {

// Turns a backend's outputs (every output of the model, any order) into the
// response the request asked for: only the requested outputs, in the order
// requested (all outputs in config order when none were named), each marked
// binary or JSON: a named output as its RequestedOutput::binary says (the
// frontend resolves it: the output's own parameter, else the request's),
// every output as `binary_outputs` when none were named. Internal if the
// backend left out an output.
absl::StatusOr<InferResponse> BuildResponse(const ModelSpec& spec, const InferRequest& request,
                                            std::vector<Tensor> outputs);

}  // namespace tide::core
