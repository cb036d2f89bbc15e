#pragma once

// A ModelInfer call to a simulated echo model (one FP32 input, INPUT0 of
// shape [1]) over the generated gRPC stub, for the integration tests.

#include <grpcpp/grpcpp.h>

#include <cstring>
#include <string>

#include "grpc_service.grpc.pb.h"

namespace tide::testing {

// The request: `value` as INPUT0, FP32, shape [1] (typed contents).
inline inference::ModelInferRequest EchoRequest(const std::string& model, float value) {
  inference::ModelInferRequest req;
  req.set_model_name(model);
  auto* in = req.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(1);
  in->mutable_contents()->add_fp32_contents(value);
  return req;
}

// Sends `value`; on an answer with one 4-byte raw output, writes it to `out`.
inline grpc::Status EchoCall(inference::GRPCInferenceService::Stub* stub, const std::string& model,
                             float value, float* out) {
  inference::ModelInferResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = stub->ModelInfer(&ctx, EchoRequest(model, value), &resp);
  if (s.ok() && resp.raw_output_contents_size() == 1 &&
      resp.raw_output_contents(0).size() == sizeof(float)) {
    std::memcpy(out, resp.raw_output_contents(0).data(), sizeof(float));
  }
  return s;
}

}  // namespace tide::testing
