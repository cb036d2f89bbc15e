#pragma once

// What the InferenceService hands a model's scheduler, and the scheduler
// interface itself. The batching module implements it (DynamicBatcher).

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/infer.h"

namespace tide::core {

// An accepted request on its way through the queue.
struct PendingRequest {
  InferRequest request;
  InferCallback done;
  int64_t batch_size = 1;  // rows along the batch dim (1 for non-batching models)
  std::string shape_key;   // the non-batch shapes; only equal keys are batched together
  absl::Time arrival;      // when the server accepted it
  absl::Time deadline = absl::InfiniteFuture();
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Takes the request; its `done` is called exactly once. OK: queued, `done`
  // runs later on a worker. Error (Unavailable: queue full or shutting down):
  // `done` has already been called with that error before Enqueue returns.
  virtual absl::Status Enqueue(std::unique_ptr<PendingRequest> request) = 0;
  // Stops accepting, finishes everything already queued, joins the workers.
  virtual void Shutdown() = 0;
  // Requests waiting (not yet executing).
  virtual int64_t QueueDepth() const = 0;
};

}  // namespace tide::core
