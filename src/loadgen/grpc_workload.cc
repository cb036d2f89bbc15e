#include "loadgen/grpc_workload.h"

#include "grpc_service.grpc.pb.h"
#include "grpc_service.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "loadgen/text.h"

namespace tide::loadgen {
namespace {

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Fills typed contents; false if the datatype has no typed field.
bool FillTyped(const InputValues& in, inference::InferTensorContents* c) {
  const std::string& dt = in.datatype;
  if (dt == "BYTES") {
    for (const std::string& s : in.strings) c->add_bytes_contents(s);
    return true;
  }
  for (double v : in.numbers) {
    if (dt == "BOOL") {
      c->add_bool_contents(v != 0);
    } else if (dt == "INT8" || dt == "INT16" || dt == "INT32") {
      c->add_int_contents(static_cast<int32_t>(v));
    } else if (dt == "INT64") {
      c->add_int64_contents(static_cast<int64_t>(v));
    } else if (dt == "UINT8" || dt == "UINT16" || dt == "UINT32") {
      c->add_uint_contents(static_cast<uint32_t>(v));
    } else if (dt == "UINT64") {
      c->add_uint64_contents(static_cast<uint64_t>(v));
    } else if (dt == "FP32") {
      c->add_fp32_contents(static_cast<float>(v));
    } else if (dt == "FP64") {
      c->add_fp64_contents(v);
    } else {
      return false;
    }
  }
  return dt != "FP16";
}

int64_t TypedCount(const inference::InferTensorContents& c) {
  return c.bool_contents_size() + c.int_contents_size() + c.int64_contents_size() +
         c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() +
         c.fp64_contents_size() + c.bytes_contents_size();
}

}  // namespace

absl::StatusOr<std::string> SerializeGrpcInfer(
    const std::vector<InputValues>& inputs, const std::vector<V2Workload::ExpectedOutput>& outputs,
    const V2WorkloadOptions& o) {
  inference::ModelInferRequest req;
  req.set_model_name(o.model);
  req.set_model_version(o.version);
  for (const InputValues& in : inputs) {
    auto* t = req.add_inputs();
    t->set_name(in.name);
    t->set_datatype(in.datatype);
    for (int64_t d : in.shape) t->add_shape(d);
    if (o.grpc == GrpcContents::kRaw) {
      req.add_raw_input_contents(EncodeBinary(in));
    } else if (!FillTyped(in, t->mutable_contents())) {
      return absl::InvalidArgumentError(Cat("input ", in.name, " is ", in.datatype,
                                            ": gRPC typed contents cannot carry it; use "
                                            "--grpc-contents raw"));
    }
  }
  for (const auto& out : outputs) req.add_outputs()->set_name(out.name);
  return req.SerializeAsString();
}

absl::StatusOr<ModelMetadata> FetchGrpcModelMetadata(const Url& url, const std::string& model,
                                                     const std::string& version,
                                                     absl::Duration timeout) {
  auto channel = grpc::CreateChannel(url.HostPort(), grpc::InsecureChannelCredentials());
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.set_wait_for_ready(true);  // the server may still be starting
  inference::ModelMetadataRequest request;
  request.set_name(model);
  request.set_version(version);
  inference::ModelMetadataResponse response;
  grpc::Status status = stub->ModelMetadata(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
      status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(Cat("model metadata (gRPC ModelMetadata at ", url.HostPort(),
                                      "): ", GrpcCodeName(status.error_code()), " ",
                                      status.error_message()));
  }
  if (!status.ok()) {
    return absl::NotFoundError(Cat("model metadata (gRPC ModelMetadata ", model, "): ",
                                   GrpcCodeName(status.error_code()), " ", status.error_message()));
  }
  ModelMetadata m;
  m.name = response.name();
  m.platform = response.platform();
  m.versions.assign(response.versions().begin(), response.versions().end());
  auto convert = [](const inference::ModelMetadataResponse::TensorMetadata& t) {
    return TensorMetadata{t.name(), t.datatype(), {t.shape().begin(), t.shape().end()}};
  };
  for (const auto& t : response.inputs()) m.inputs.push_back(convert(t));
  for (const auto& t : response.outputs()) m.outputs.push_back(convert(t));
  if (m.inputs.empty()) return absl::InvalidArgumentError("model metadata has no inputs");
  for (const auto& t : m.inputs) {
    if (DatatypeSize(t.datatype) == 0 && t.datatype != "BYTES") {
      return absl::InvalidArgumentError(
          Cat("model metadata: unsupported datatype ", t.datatype, " of ", t.name));
    }
  }
  return m;
}

std::string GrpcResponseChecker::Check(const HttpResponse& response, size_t) const {
  return Cat("bad_response: HTTP ", response.status, " answer to a gRPC request");
}

std::string GrpcResponseChecker::CheckGrpc(const GrpcAnswer& answer, size_t) const {
  if (answer.code != 0) return Cat("grpc_", GrpcCodeName(answer.code));
  inference::ModelInferResponse response;
  if (!response.ParseFromString(answer.body)) return "bad_response: not a ModelInferResponse";
  if (response.model_name() != model_) return "bad_response: wrong model_name";
  const bool raw = response.raw_output_contents_size() > 0;
  if (raw && response.raw_output_contents_size() != response.outputs_size()) {
    return "bad_response: raw_output_contents do not match outputs";
  }
  for (const V2Workload::ExpectedOutput& want : outputs_) {
    int index = -1;
    for (int i = 0; i < response.outputs_size(); ++i) {
      if (response.outputs(i).name() == want.name) index = i;
    }
    if (index < 0) return Cat("bad_response: missing output ", want.name);
    const auto& out = response.outputs(index);
    std::vector<int64_t> got(out.shape().begin(), out.shape().end());
    if (got.size() != want.shape.size()) return Cat("bad_response: wrong shape of ", want.name);
    for (size_t i = 0; i < got.size(); ++i) {
      if (want.shape[i] >= 0 && got[i] != want.shape[i]) {
        return Cat("bad_response: wrong shape of ", want.name);
      }
    }
    const int64_t elements = Elements(got);
    const int size = DatatypeSize(want.datatype);
    if (raw) {
      if (size > 0 &&
          static_cast<int64_t>(response.raw_output_contents(index).size()) != elements * size) {
        return Cat("bad_response: wrong data size of ", want.name);
      }
    } else if (TypedCount(out.contents()) != elements) {
      return Cat("bad_response: wrong data size of ", want.name);
    }
  }
  return "";
}

}  // namespace tide::loadgen
