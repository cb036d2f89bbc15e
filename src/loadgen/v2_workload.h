#pragma once

// KServe V2 inference requests built from a model's metadata, and the check
// applied to every response. Pure (no I/O): the metadata JSON and the
// --input-data file's text come in as strings.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "loadgen/engine.h"

namespace tide::loadgen {

struct TensorMetadata {
  std::string name;
  std::string datatype;        // BOOL, UINT8..64, INT8..64, FP16, FP32, FP64, BYTES
  std::vector<int64_t> shape;  // -1 = variable
};

// GET /v2/models/{m}: {"name","versions","platform","inputs":[...],"outputs":[...]}.
struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;
  std::string platform;
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
};

absl::StatusOr<ModelMetadata> ParseModelMetadata(std::string_view json);

// Bytes per element; 0 for BYTES (variable) and unknown types.
int DatatypeSize(std::string_view datatype);

// gRPC requests: tensor contents typed (InferTensorContents) or raw
// (raw_input_contents, little-endian bytes); kNone: HTTP.
enum class GrpcContents { kNone, kTyped, kRaw };

// One input tensor's values for one request.
struct InputValues {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::vector<double> numbers;
  std::vector<std::string> strings;  // BYTES
};

// The values as raw little-endian bytes (BYTES: 4-byte length + bytes each),
// as Triton's binary tensor extension and gRPC's raw contents carry them.
std::string EncodeBinary(const InputValues& in);

struct V2WorkloadOptions {
  std::string model;
  std::string version;      // "" = the server's choice
  std::string path_prefix;  // from the URL, e.g. "" or "/proxy"
  int batch_size = 1;
  // --shape NAME:d1,d2: the per-item dims of an input (no batch dim).
  std::map<std::string, std::vector<int64_t>> shapes;
  enum class Data { kZero, kRandom, kFile } data = Data::kZero;
  std::string input_data_json;  // kFile: perf_analyzer --input-data JSON text
  uint64_t seed = 1;
  bool binary = false;  // Triton's binary tensor extension
  // Not kNone: the requests are serialised gRPC ModelInferRequest messages.
  GrpcContents grpc = GrpcContents::kNone;
};

// The requests to send and what their answers must look like.
struct V2Workload {
  // Serialised HTTP requests, or gRPC messages (one per data entry;
  // random/zero data: one).
  std::vector<std::string> requests;
  bool batched = false;  // every input's first dim is -1: it is the batch dim
  struct ExpectedOutput {
    std::string name;
    std::string datatype;
    std::vector<int64_t> shape;  // -1 = any
  };
  std::vector<ExpectedOutput> outputs;
  // Human summary of what is sent, e.g. "INPUT0 FP32 [1,16]".
  std::string description;
};

// Builds the workload. InvalidArgument explains a shape that cannot be
// resolved (a -1 beyond the batch dim without --shape), bad input data, or an
// unsupported datatype.
absl::StatusOr<V2Workload> BuildV2Workload(const ModelMetadata& metadata, const Url& url,
                                           const V2WorkloadOptions& options);

// Checks a V2 response: HTTP 200, model_name, and every requested output
// present with the expected shape and data size (JSON or binary). Causes:
// "http_<status>", "bad_response: <what>". Thread-safe.
class V2ResponseChecker final : public ResponseChecker {
 public:
  V2ResponseChecker(std::string model, std::vector<V2Workload::ExpectedOutput> outputs)
      : model_(std::move(model)), outputs_(std::move(outputs)) {}
  std::string Check(const HttpResponse& response, size_t request_index) const override;

 private:
  std::string model_;
  std::vector<V2Workload::ExpectedOutput> outputs_;
};

}  // namespace tide::loadgen
