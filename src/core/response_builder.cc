#include "core/response_builder.h"

#include "absl/strings/str_cat.h"

namespace tide::core {

absl::StatusOr<InferResponse> BuildResponse(const ModelSpec& spec, const InferRequest& request,
                                            std::vector<Tensor> outputs) {
  InferResponse r;
  const size_t n = request.outputs.empty() ? spec.outputs.size() : request.outputs.size();
  r.outputs.reserve(n);
  r.binary.reserve(n);
  auto take = [&](const std::string& name, bool binary) -> absl::Status {
    for (Tensor& t : outputs) {
      if (t.name == name) {
        r.outputs.push_back(std::move(t));
        r.binary.push_back(binary);
        return absl::OkStatus();
      }
    }
    return absl::InternalError(
        absl::StrCat("backend '", spec.backend, "' produced no output '", name, "'"));
  };
  if (request.outputs.empty()) {
    for (const TensorSpec& o : spec.outputs) {
      if (absl::Status s = take(o.name, request.binary_outputs); !s.ok()) return s;
    }
  } else {
    for (const RequestedOutput& o : request.outputs) {
      if (absl::Status s = take(o.name, o.binary); !s.ok()) return s;
    }
  }
  return r;
}

}  // namespace tide::core
