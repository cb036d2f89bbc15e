#include "core/request_validator.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace tide::core {

absl::StatusOr<ValidatedShape> ValidateRequest(const ModelSpec& spec, const InferRequest& request) {
  ValidatedShape out;
  const bool batching = spec.max_batch_size > 0;
  int64_t batch = -1;
  std::set<std::string> seen;
  for (const Tensor& t : request.inputs) {
    const TensorSpec* ts = spec.FindInput(t.name);
    if (!ts) {
      std::string known;
      for (const TensorSpec& i : spec.inputs)
        absl::StrAppend(&known, known.empty() ? "" : ", ", i.name);
      return absl::InvalidArgumentError(absl::StrCat("unknown input '", t.name, "' for model '",
                                                     spec.name, "' (inputs: ", known, ")"));
    }
    if (!seen.insert(t.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "' is given twice"));
    }
    if (t.datatype != ts->datatype) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", t.name, "': datatype ", V2Name(t.datatype),
                       " does not match the model's ", V2Name(ts->datatype)));
    }
    std::vector<int64_t> expected = ts->dims;
    if (batching) expected.insert(expected.begin(), -1);
    bool ok = t.shape.size() == expected.size();
    for (size_t i = 0; ok && i < expected.size(); ++i) {
      if (t.shape[i] < 0 || (expected[i] != -1 && t.shape[i] != expected[i])) ok = false;
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", t.name, "': shape ", ShapeToString(t.shape), " does not match the model's ",
          batching ? "[-1(batch)," : "[", ShapeToString(ts->dims).substr(1)));
    }
    if (batching) {
      if (t.shape[0] < 1 || t.shape[0] > spec.max_batch_size) {
        return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "': batch size ",
                                                       t.shape[0], " is outside 1..",
                                                       spec.max_batch_size, " (max_batch_size)"));
      }
      if (batch != -1 && t.shape[0] != batch) {
        return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "': batch size ",
                                                       t.shape[0], " differs from other inputs' ",
                                                       batch));
      }
      batch = t.shape[0];
    }
    if (absl::Status s = ValidateTensorData(t); !s.ok()) return s;
  }
  for (const TensorSpec& ts : spec.inputs) {
    if (!ts.optional && !seen.count(ts.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing input '", ts.name, "' for model '", spec.name, "'"));
    }
  }
  // The key is built in the model's input order so that it does not depend on
  // the order the client listed inputs in.
  for (const TensorSpec& ts : spec.inputs) {
    for (const Tensor& t : request.inputs) {
      if (t.name != ts.name) continue;
      absl::StrAppend(&out.shape_key, t.name, ":");
      for (size_t i = batching ? 1 : 0; i < t.shape.size(); ++i)
        absl::StrAppend(&out.shape_key, t.shape[i], ",");
      absl::StrAppend(&out.shape_key, ";");
    }
  }
  std::set<std::string> requested;
  for (const RequestedOutput& o : request.outputs) {
    if (!spec.FindOutput(o.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown requested output '", o.name, "' for model '", spec.name, "'"));
    }
    if (!requested.insert(o.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("output '", o.name, "' is requested twice"));
    }
  }
  out.batch_size = batching ? batch : 1;
  return out;
}

}  // namespace tide::core
