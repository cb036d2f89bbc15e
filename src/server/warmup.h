#pragma once

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "core/model_config.h"
#include "core/model_instance.h"

namespace tide::server {

// The most bytes one warm-up input may take (2 GiB). Warm-up inputs are built
// from config numbers alone, so without a bound a config could make the load
// allocate without limit.
inline constexpr int64_t kMaxWarmupTensorBytes = int64_t{2} << 30;

// Runs each instance once before the model is reported ready, so the first
// real request does not pay for lazy initialisation (allocators, kernel
// selection, thread pools). Uses the config's model_warmup entries when
// present (zero_data or random_data inputs at their batch_size, each run
// `count` times, at most core::kMaxWarmupCount); otherwise one zero-filled
// request at max_batch_size (1 when the model does not batch), with variable
// dims set to 1. A failed warm-up fails the load, as does an input larger
// than kMaxWarmupTensorBytes (ResourceExhausted, naming input, shape and size).
absl::Status WarmUp(const core::ModelSpec& spec,
                    const std::vector<std::unique_ptr<core::ModelInstance>>& instances);

}  // namespace tide::server
