#include "core/request_validator.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"

namespace tide::core {

absl::StatusOr<ValidatedShape> ValidateRequest(const ModelSpec& spec, const InferRequest& request) {
  ValidatedShape out;
  const bool batching = spec.max_batch_size > 0;
  int64_t batch = -1;
  // Which of the model's inputs (by index) the request gave: an input is
  // matched to its spec before it is counted, so "given twice" is a spec
  // input seen twice.
  absl::InlinedVector<bool, 16> seen(spec.inputs.size(), false);
  for (const Tensor& t : request.inputs) {
    const TensorSpec* ts = spec.FindInput(t.name);
    if (!ts) {
      std::string known;
      for (const TensorSpec& i : spec.inputs)
        absl::StrAppend(&known, known.empty() ? "" : ", ", i.name);
      return absl::InvalidArgumentError(absl::StrCat("unknown input '", t.name, "' for model '",
                                                     spec.name, "' (inputs: ", known, ")"));
    }
    bool& given = seen[static_cast<size_t>(ts - spec.inputs.data())];
    if (given) {
      return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "' is given twice"));
    }
    given = true;
    if (t.datatype != ts->datatype) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", t.name, "': datatype ", V2Name(t.datatype),
                       " does not match the model's ", V2Name(ts->datatype)));
    }
    // The expected shape is the spec's dims after a -1 batch dim when batching.
    const size_t lead = batching ? 1 : 0;
    bool ok = t.shape.size() == ts->dims.size() + lead;
    for (size_t i = 0; ok && i < t.shape.size(); ++i) {
      const int64_t want = i < lead ? -1 : ts->dims[i - lead];
      if (t.shape[i] < 0 || (want != -1 && t.shape[i] != want)) ok = false;
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
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const TensorSpec& ts = spec.inputs[i];
    if (!ts.optional && !seen[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing input '", ts.name, "' for model '", spec.name, "'"));
    }
  }
  // Requests are batched together only when their keys are equal. Where
  // every input is required and its dims fixed, validation has already made
  // every request's non-batch shapes the same, so the key is left empty and
  // costs nothing. Otherwise it is built in the model's input order, so that
  // it does not depend on the order the client listed inputs in.
  const bool shapes_vary = std::any_of(spec.inputs.begin(), spec.inputs.end(), [](const auto& ts) {
    return ts.optional || std::find(ts.dims.begin(), ts.dims.end(), -1) != ts.dims.end();
  });
  for (const TensorSpec& ts : spec.inputs) {
    if (!shapes_vary) break;
    for (const Tensor& t : request.inputs) {
      if (t.name != ts.name) continue;
      absl::StrAppend(&out.shape_key, t.name, ":");
      for (size_t i = batching ? 1 : 0; i < t.shape.size(); ++i)
        absl::StrAppend(&out.shape_key, t.shape[i], ",");
      absl::StrAppend(&out.shape_key, ";");
    }
  }
  absl::InlinedVector<bool, 16> requested(spec.outputs.size(), false);
  for (const RequestedOutput& o : request.outputs) {
    const TensorSpec* os = spec.FindOutput(o.name);
    if (!os) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown requested output '", o.name, "' for model '", spec.name, "'"));
    }
    bool& asked = requested[static_cast<size_t>(os - spec.outputs.data())];
    if (asked) {
      return absl::InvalidArgumentError(absl::StrCat("output '", o.name, "' is requested twice"));
    }
    asked = true;
  }
  out.batch_size = batching ? batch : 1;
  return out;
}

}  // namespace tide::core
