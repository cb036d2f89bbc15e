#include "server/warmup.h"

#include <random>

#include "absl/strings/str_cat.h"

namespace tide::server {
namespace {

core::Tensor MakeInput(const core::TensorSpec& ts, std::vector<int64_t> dims, int64_t batch,
                       bool random, std::mt19937* rng) {
  core::Tensor t{ts.name, ts.datatype, {}, {}};
  if (batch > 0) t.shape.push_back(batch);
  for (int64_t d : dims) t.shape.push_back(d < 0 ? 1 : d);
  int64_t n = t.ElementCount();
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
  std::vector<core::InferRequest> requests;
  std::mt19937 rng(1);
  const auto& warmups = spec.proto.model_warmup();
  if (warmups.empty()) {
    core::InferRequest r;
    int64_t batch = spec.max_batch_size > 0 ? spec.max_batch_size : 0;
    for (const core::TensorSpec& ts : spec.inputs)
      r.inputs.push_back(MakeInput(ts, ts.dims, batch, false, &rng));
    requests.push_back(std::move(r));
  } else {
    for (const auto& w : warmups) {
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
        r.inputs.push_back(MakeInput(ts, dims, batch, random, &rng));
      }
      for (uint32_t i = 0; i < std::max<uint32_t>(1, w.count()); ++i) requests.push_back(r);
    }
  }
  for (size_t i = 0; i < instances.size(); ++i) {
    for (const core::InferRequest& r : requests) {
      core::ExecuteTimings t;
      auto results = instances[i]->Execute({&r}, &t);
      if (results.size() != 1 || !results[0].ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "warm-up of '", spec.name, "' instance ", i, " failed: ",
            results.empty() ? "no result" : std::string(results[0].status().message())));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace tide::server
