#pragma once

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "core/model_config.h"
#include "core/model_instance.h"

namespace tide::server {

// Runs each instance once before the model is reported ready, so the first
// real request does not pay for lazy initialisation (allocators, kernel
// selection, thread pools). Uses the config's model_warmup entries when
// present (zero_data or random_data inputs at their batch_size); otherwise one
// zero-filled request at max_batch_size (1 when the model does not batch),
// with variable dims set to 1. A failed warm-up fails the load.
absl::Status WarmUp(const core::ModelSpec& spec,
                    const std::vector<std::unique_ptr<core::ModelInstance>>& instances);

}  // namespace tide::server
