// libFuzzer target: the KServe V2 gRPC message conversion
// (frontends/grpc/grpc_codec.h) on arbitrary bytes parsed as a
// ModelInferRequest, as the gRPC server receives them. A message that parses
// must convert to a request or to InvalidArgument with a message, never
// crash; a converted request must be self-consistent (each fixed-size
// tensor's bytes are its element count times the element size), and a
// response built from it must convert to a message that serializes and
// parses back with the same contents.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "core/datatype.h"
#include "core/tensor.h"
#include "frontends/grpc/grpc_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ModelInferRequest message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto request = tide::grpcfe::FromProto(message);
  if (!request.ok()) {
    if (!absl::IsInvalidArgument(request.status()) || request.status().message().empty()) {
      __builtin_trap();
    }
    return 0;
  }
  if (request->inputs.size() != static_cast<size_t>(message.inputs_size())) __builtin_trap();
  if (request->outputs.size() != static_cast<size_t>(message.outputs_size())) __builtin_trap();
  tide::core::InferResponse response;
  response.model_name = request->model_name;
  response.model_version = request->model_version;
  response.id = request->id;
  for (const tide::core::Tensor& t : request->inputs) {
    if (!tide::core::ValidateTensorData(t).ok()) __builtin_trap();
    response.outputs.push_back(t);
  }
  inference::ModelInferResponse out;
  tide::grpcfe::ToProto(response, &out);
  std::string wire;
  if (!out.SerializeToString(&wire)) __builtin_trap();
  inference::ModelInferResponse back;
  if (!back.ParseFromString(wire)) __builtin_trap();
  if (back.outputs_size() != static_cast<int>(request->inputs.size()) ||
      back.raw_output_contents_size() != back.outputs_size()) {
    __builtin_trap();
  }
  for (int i = 0; i < back.outputs_size(); ++i) {
    const tide::core::Tensor& t = request->inputs[i];
    if (back.outputs(i).name() != t.name || back.raw_output_contents(i) != t.data ||
        back.outputs(i).shape_size() != static_cast<int>(t.shape.size())) {
      __builtin_trap();
    }
  }
  return 0;
}
