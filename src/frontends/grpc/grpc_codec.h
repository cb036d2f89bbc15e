#pragma once

// KServe V2 gRPC messages ⇄ core requests and responses. Pure functions.

#include "absl/status/statusor.h"
#include "core/infer.h"
#include "grpc_service.pb.h"

namespace tide::grpcfe {

// InvalidArgument naming the input and the problem (raw contents count,
// typed contents of the wrong kind, element counts, range).
absl::StatusOr<core::InferRequest> FromProto(const inference::ModelInferRequest& request);

// Outputs as raw_output_contents (one entry per output, in order).
void ToProto(const core::InferResponse& response, inference::ModelInferResponse* out);
// The same message, the names and tensor bytes moved into it, not copied.
void ToProto(core::InferResponse&& response, inference::ModelInferResponse* out);

}  // namespace tide::grpcfe
