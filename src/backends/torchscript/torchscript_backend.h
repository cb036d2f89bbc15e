#pragma once

// The TorchScript backend ("pytorch": config.pbtxt `platform:
// "pytorch_libtorch"` or `backend: "pytorch"`): runs `<version>/model.pt`
// with libtorch. This header includes no libtorch header; only the backend's
// .cc files do (each such TU costs ~13 s and 0.7 GB to compile).
//
// Load: torch::jit::load → eval → torch::jit::freeze →
// torch::jit::optimize_for_inference (C++-built modules are not frozen by
// optimize_for_inference alone). Config inputs bind to forward()'s arguments
// and outputs to its results as io_binding.h describes; a count mismatch
// fails the load naming both sides. The load then runs forward() once on
// zeros of the config's dtypes and dims, so a dtype the model cannot take
// (or an output whose dtype or dims differ from the config) fails the load
// naming the input or output and both dtypes.
//
// Execute: the batch's requests are concatenated along dim 0 into one tensor
// per input, forward() runs once under torch::InferenceMode, and each output
// is split back per request. If forward() throws on a batch of several
// requests, each request is retried alone, so a request that makes the model
// fail fails alone. libtorch exceptions never escape: a TorchScript `raise`
// or c10 Value/Type/IndexError becomes InvalidArgument (HTTP 400), anything
// else Internal (500), with the message's meaningful line.
//
// Threads (parameters INTRA_OP_THREAD_COUNT / INTER_OP_THREAD_COUNT): see
// io_binding.h for the defaults. Intra-op threads are a per-thread setting in
// libtorch, so each instance sets them on its worker thread at its first
// Execute; the inter-op pool size is process-wide and set once by the first
// model loaded (later models asking for another size get a warning).
// Instances of one model share the frozen module (forward() is reentrant).

#include <memory>

#include "absl/status/statusor.h"
#include "backends/backend.h"

namespace tide::backends {

absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(const LoadContext& ctx);

}  // namespace tide::backends
