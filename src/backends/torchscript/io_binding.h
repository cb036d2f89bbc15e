#pragma once

// How a config.pbtxt's inputs and outputs bind to a TorchScript module's
// forward() arguments and results, and the backend's thread settings. Pure
// (no libtorch): the backend extracts a ForwardSignature from the module's
// schema and calls these at load; the unit tests call them directly.
//
// Input binding follows Triton's PyTorch backend, first rule that fits:
//   1. by name: every config input is named after a forward() argument;
//   2. by index: every config input is named `<anything>__<i>` (INPUT__0)
//      with distinct i < the number of forward() arguments;
//   3. by order: config input k is forward() argument k.
// Outputs bind by index when every name is `<anything>__<i>`, else by order
// (config output k is forward()'s k-th result).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model_config.h"

namespace tide::backends::torchscript {

// What the backend knows of forward() before running it.
struct ForwardSignature {
  std::vector<std::string> arg_names;  // without `self`
  int required_args = 0;               // arguments without a default value
  // Results forward() declares: 1 for a Tensor, N for an N-tuple, -1 when
  // unknown until it runs (e.g. List[Tensor]).
  int num_results = 1;
};

enum class BindRule { kByName, kByIndex, kByOrder };
const char* BindRuleName(BindRule rule);

struct Binding {
  BindRule rule = BindRule::kByOrder;
  // index[k]: the forward() argument (for inputs) or result (for outputs)
  // that config entry k binds to.
  std::vector<int> index;
};

// `<name>__<i>` → i; -1 when `name` does not follow the convention.
int NamingConventionIndex(std::string_view name);

// InvalidArgument naming the config file, the counts and the names when the
// config and forward() disagree (e.g. "config.pbtxt declares 3 inputs but
// forward(a, b) takes 2").
absl::StatusOr<Binding> BindInputs(const core::ModelSpec& spec, const ForwardSignature& sig);
absl::StatusOr<Binding> BindOutputs(const core::ModelSpec& spec, const ForwardSignature& sig);

// Threads. Parameters INTRA_OP_THREAD_COUNT and INTER_OP_THREAD_COUNT
// (positive integers) override the defaults:
//   intra-op = max(1, cpu_count / instance_count): the instances share the
//              cores without oversubscribing them;
//   inter-op = 1 (tide runs one forward() per instance worker; libtorch's
//              inter-op pool only serves fork/wait in scripted models).
struct ThreadSettings {
  int intra_op = 1;
  int inter_op = 1;
};
absl::StatusOr<ThreadSettings> ResolveThreads(const core::ModelSpec& spec, int cpu_count);

// The line of a libtorch exception message worth showing a client: for
// TorchScript interpreter errors ("The following operation failed in the
// TorchScript interpreter ... builtins.ValueError: x") the final error line,
// otherwise the first line. Never empty.
std::string TorchErrorSummary(std::string_view what);

}  // namespace tide::backends::torchscript
