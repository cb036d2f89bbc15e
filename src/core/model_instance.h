#pragma once

// The backend contract (after Triton's TRITONBACKEND_ModelInstanceExecute):
// an instance executes one batch of requests and returns one result per
// request, in order. Errors are per request: one bad request does not fail
// the others. Implementations must not throw.

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/infer.h"

namespace tide::core {

// How long each phase of one batch took (Triton's compute_input / infer / output).
struct ExecuteTimings {
  absl::Duration input = absl::ZeroDuration();
  absl::Duration infer = absl::ZeroDuration();
  absl::Duration output = absl::ZeroDuration();
};

using ExecuteResult = absl::StatusOr<std::vector<Tensor>>;

class ModelInstance {
 public:
  virtual ~ModelInstance() = default;
  // Runs `batch` (validated requests with equal non-batch shapes). Returns
  // exactly batch.size() results; each holds every output of the model, with
  // the request's batch dim. Called from one worker thread at a time.
  virtual std::vector<ExecuteResult> Execute(const std::vector<const InferRequest*>& batch,
                                             ExecuteTimings* timings) = 0;
};

}  // namespace tide::core
