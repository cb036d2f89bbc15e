#pragma once

// Checks an inference request against its model's configuration before it is
// queued, so that a batch only ever holds requests its backend can run. Pure.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "core/infer.h"
#include "core/model_config.h"

namespace tide::core {

struct ValidatedShape {
  int64_t batch_size = 1;  // rows along the batch dim (1 when max_batch_size is 0)
  // The inputs' non-batch shapes, e.g. "INPUT0:16,;INPUT1:5,;", for a model
  // with a variable dim or an optional input; empty for any other model (its
  // valid requests all have the same shapes).
  std::string shape_key;
};

// InvalidArgument naming the input/output and what is wrong: unknown or
// missing input, datatype mismatch, shape or element-count mismatch, batch
// over max_batch_size, unknown requested output.
absl::StatusOr<ValidatedShape> ValidateRequest(const ModelSpec& spec, const InferRequest& request);

}  // namespace tide::core
