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
//
// Single-row products at GEMV cost (parameter TIDE_SINGLE_ROW_GEMV, "true"
// by default, "false" to turn it off): a 1-row matrix product costs what a
// matrix-vector product costs only if the BLAS says so, and OpenBLAS 0.3.21
// runs a 1-row sgemm through its general GEMM path (with its Haswell kernels
// a 1x784 by 784x512 product takes ~75 µs as a GEMM and ~20 µs as a GEMV). So
// at load, after optimize_for_inference, every aten::linear, aten::addmm and
// aten::matmul in forward() (an aten::matmul followed by its only user, an
// aten::add of a bias, as one op: what freezing makes of a linear layer) is
// replaced by a tide:: op that computes the same thing and, when its input
// is one row (all dims but the last 1) of FP32/FP64 on the CPU, does it with
// at::mv/at::addmv. Batched calls run the original aten ops, unchanged.
// Describe() says how many ops were rewritten.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/backend.h"

namespace torch::jit {
struct Module;
}

namespace tide::backends {

absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(const LoadContext& ctx);

// The ops the pass above rewrote, by what they were.
struct GemvRouting {
  int linear = 0, addmm = 0, matmul = 0, matmul_add = 0;
  // "4 ops rewritten (3 matmul+add, 0 matmul, 0 linear, 1 addmm)"
  std::string ToString() const;
};

// The pass itself, on a frozen module's forward() (for the in-process
// benchmark, which prepares a module as the backend does).
GemvRouting RouteSingleRowProductsToGemv(torch::jit::Module& module);

}  // namespace tide::backends
