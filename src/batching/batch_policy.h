#pragma once

// When to run a batch, and which requests go in it: a pure function of the
// queue's head and `now` (no clock reads, no locks), so it can be tested
// table by table and reused by the simulator.
//
// Rules (after Triton's dynamic batcher):
// - Only a prefix of the queue is ever taken, so requests run in arrival
//   order; the prefix stops at the first request whose non-batch shapes differ
//   from the head's (such requests are never merged) or whose rows would push
//   the batch past max_batch_size.
// - max_batch_size 0 (the model does not batch): one request at a time.
// - No dynamic_batching: one request at a time, at once, with whatever batch
//   size its client sent (Triton: such a model is batched by its clients only).
// - Dynamic batching: run at once when the batch is full, when it cannot
//   grow (the next request does not fit), or when its rows reach a preferred
//   batch size (the largest such prefix is taken); otherwise wait until the
//   oldest request has waited max_queue_delay.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace tide::batching {

struct BatchPolicyConfig {
  int32_t max_batch_size = 0;
  bool dynamic = false;
  std::vector<int32_t> preferred_batch_sizes;  // ascending
  absl::Duration max_queue_delay = absl::ZeroDuration();
};

// The part of a queued request the policy looks at.
struct QueuedItem {
  int64_t rows = 1;
  std::string_view shape_key;
  absl::Time arrival;
};

struct BatchDecision {
  enum class Kind { kIdle, kDispatch, kWait };
  Kind kind = Kind::kIdle;
  size_t count = 0;                                // kDispatch: take the first `count`
  absl::Time wait_until = absl::InfiniteFuture();  // kWait: decide again then
  int64_t rows = 0;                                // kDispatch: rows in the batch

  bool operator==(const BatchDecision&) const = default;
};

// `queue` is the queue's head in arrival order (callers may pass only the
// first max_batch_size + 1 entries: nothing past that can matter).
// `flush` forces a dispatch instead of a wait (used while shutting down).
BatchDecision DecideBatch(const BatchPolicyConfig& config, const std::vector<QueuedItem>& queue,
                          absl::Time now, bool flush = false);

}  // namespace tide::batching
