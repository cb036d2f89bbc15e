#pragma once

// KServe V2 over gRPC for `tide load --protocol grpc`: ModelInferRequest
// messages from the same input values as the HTTP requests (typed contents or
// raw_input_contents), model metadata from ModelMetadataResponse, and the
// check applied to every ModelInferResponse. Pure (no I/O) except
// FetchGrpcModelMetadata.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "loadgen/engine.h"
#include "loadgen/v2_workload.h"

namespace tide::loadgen {

// One serialised inference::ModelInferRequest. InvalidArgument for an input
// that typed contents cannot carry (FP16: use raw).
absl::StatusOr<std::string> SerializeGrpcInfer(
    const std::vector<InputValues>& inputs, const std::vector<V2Workload::ExpectedOutput>& outputs,
    const V2WorkloadOptions& options);

// ModelMetadata RPC at `host:port` (insecure channel), within `timeout`.
// NotFound names the gRPC status of a refusal; Unavailable when unreachable.
absl::StatusOr<ModelMetadata> FetchGrpcModelMetadata(const Url& url, const std::string& model,
                                                     const std::string& version,
                                                     absl::Duration timeout);

// Checks a gRPC answer: status OK ("grpc_<CODE>" otherwise), model_name, and
// every requested output present with the expected shape and data size (raw
// or typed contents). Causes: "grpc_<CODE>", "bad_response: <what>".
// Thread-safe.
class GrpcResponseChecker final : public ResponseChecker {
 public:
  GrpcResponseChecker(std::string model, std::vector<V2Workload::ExpectedOutput> outputs)
      : model_(std::move(model)), outputs_(std::move(outputs)) {}
  std::string Check(const HttpResponse& response, size_t request_index) const override;
  std::string CheckGrpc(const GrpcAnswer& answer, size_t request_index) const override;
  bool WantsGrpcBody() const override { return true; }

 private:
  std::string model_;
  std::vector<V2Workload::ExpectedOutput> outputs_;
};

}  // namespace tide::loadgen
