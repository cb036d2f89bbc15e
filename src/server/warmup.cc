#include "server/warmup.h"

#include <cstring>
#include <limits>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tide::server {
namespace {

absl::StatusOr<core::Tensor> MakeInput(const core::ModelSpec& spec, const core::TensorSpec& ts,
                                       std::vector<int64_t> dims, int64_t batch, bool random,
                                       std::mt19937* rng) {
  core::Tensor t{ts.name, ts.datatype, {}, {}};
  if (batch > 0) t.shape.push_back(batch);
  for (int64_t d : dims) t.shape.push_back(d < 0 ? 1 : d);
  const int64_t n = t.ElementCount();  // -1 on overflow
  // A BYTES element is written as a 4-byte length and one byte.
  const int64_t element_bytes = ts.datatype == core::DataType::kBytes
                                    ? 5
                                    : static_cast<int64_t>(core::ElementSize(ts.datatype));
  if (n < 0 || n > kMaxWarmupTensorBytes / element_bytes) {
    const bool overflows = n < 0 || n > std::numeric_limits<int64_t>::max() / element_bytes;
    return absl::ResourceExhaustedError(
        absl::StrCat("warm-up of '", spec.name, "': input '", ts.name, "' of shape ",
                     core::ShapeToString(t.shape), " ", core::V2Name(ts.datatype), " would take ",
                     overflows ? absl::StrCat("more than ", std::numeric_limits<int64_t>::max())
                               : absl::StrCat(n * element_bytes),
                     " bytes, more than the ", kMaxWarmupTensorBytes,
                     " (2 GiB) allowed for one warm-up tensor"));
  }
  if (ts.datatype == core::DataType::kBytes) {
    for (int64_t i = 0; i < n; ++i)
      t.data.append(
          std::string("\x01\x00\x00\x00"
                      "0",
                      5));
    return t;
  }
  t.data.assign(static_cast<size_t>(n) * core::ElementSize(ts.datatype), '\0');
  if (random && ts.datatype == core::DataType::kFp32) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (int64_t i = 0; i < n; ++i) {
      float f = u(*rng);
      std::memcpy(t.data.data() + i * 4, &f, 4);
    }
  }
  return t;
}

}  // namespace

absl::Status WarmUp(const core::ModelSpec& spec,
                    const std::vector<std::unique_ptr<core::ModelInstance>>& instances) {
  // Each request and how many times it runs (requests are not copied `count` times).
  std::vector<std::pair<core::InferRequest, uint32_t>> requests;
  std::mt19937 rng(1);
  const auto& warmups = spec.proto.model_warmup();
  if (warmups.empty()) {
    core::InferRequest r;
    int64_t batch = spec.max_batch_size > 0 ? spec.max_batch_size : 0;
    for (const core::TensorSpec& ts : spec.inputs) {
      absl::StatusOr<core::Tensor> t = MakeInput(spec, ts, ts.dims, batch, false, &rng);
      if (!t.ok()) return t.status();
      r.inputs.push_back(*std::move(t));
    }
    requests.emplace_back(std::move(r), 1);
  } else {
    for (int wi = 0; wi < warmups.size(); ++wi) {
      const auto& w = warmups[wi];
      if (w.count() > core::kMaxWarmupCount) {
        return absl::InvalidArgumentError(
            absl::StrCat("warm-up of '", spec.name, "': model_warmup[", wi, "].count ", w.count(),
                         " must be at most ", core::kMaxWarmupCount));
      }
      core::InferRequest r;
      int64_t batch = spec.max_batch_size > 0 ? std::max<int64_t>(1, w.batch_size()) : 0;
      for (const core::TensorSpec& ts : spec.inputs) {
        auto it = w.inputs().find(ts.name);
        std::vector<int64_t> dims = ts.dims;
        bool random = false;
        if (it != w.inputs().end()) {
          if (it->second.dims_size() > 0)
            dims.assign(it->second.dims().begin(), it->second.dims().end());
          random = it->second.random_data();
        }
        absl::StatusOr<core::Tensor> t = MakeInput(spec, ts, dims, batch, random, &rng);
        if (!t.ok()) return t.status();
        r.inputs.push_back(*std::move(t));
      }
      requests.emplace_back(std::move(r), std::max<uint32_t>(1, w.count()));
    }
  }
  for (size_t i = 0; i < instances.size(); ++i) {
    for (const auto& [r, count] : requests) {
      for (uint32_t k = 0; k < count; ++k) {
        core::ExecuteTimings t;
        auto results = instances[i]->Execute({&r}, &t);
        if (results.size() != 1 || !results[0].ok()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "warm-up of '", spec.name, "' instance ", i, " failed: ",
              results.empty() ? "no result" : std::string(results[0].status().message())));
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace tide::server
