#pragma once

// A model's configuration: Triton's config.pbtxt, parsed with protobuf's
// TextFormat over tide's own model_config.proto, then validated into a typed
// ModelSpec. Every error names the file, the field and the line; fields tide
// does not understand become warnings.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/datatype.h"
#include "core/model_config.pb.h"

namespace tide::core {

// The most times one model_warmup entry may run (its `count`): warm-up runs
// before the model is ready, so an unbounded count would hold the load forever.
inline constexpr uint32_t kMaxWarmupCount = 1000;

struct TensorSpec {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> dims;  // without the batch dim; -1 = any size
  bool optional = false;
};

struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  uint32_t num_versions = 1;      // kLatest
  std::vector<int64_t> versions;  // kSpecific
};

struct BatchingSpec {
  bool dynamic = false;                        // a dynamic_batching block is present
  std::vector<int32_t> preferred_batch_sizes;  // ascending, each in [1, max_batch_size]
  absl::Duration max_queue_delay = absl::ZeroDuration();
  uint32_t max_queue_size = 0;                            // 0: the server's --max-queue-size
  absl::Duration default_timeout = absl::ZeroDuration();  // 0: none
  bool allow_timeout_override = true;
};

struct ModelSpec {
  std::string name;
  std::string backend;   // normalised: "simulated", "pytorch", ...
  std::string platform;  // as written (may be empty)
  int32_t max_batch_size = 0;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  int instance_count = 1;
  BatchingSpec batching;
  VersionPolicy version_policy;
  std::map<std::string, std::string> parameters;
  config::ModelConfig proto;          // the parsed file, for backends that need more
  std::vector<std::string> warnings;  // e.g. fields tide ignores
  std::string path;                   // the config.pbtxt it came from

  const TensorSpec* FindInput(std::string_view name) const;
  const TensorSpec* FindOutput(std::string_view name) const;
};

// Parses and validates config text. `path` is used in messages; `dir_name`
// is the model's folder name, which `name` must match (and defaults to).
// Numbers that size memory or work are bounded: each dim is -1 or >= 1 and a
// tensor's byte size at max_batch_size (variable dims counted as 1) must fit
// in int64; model_warmup[].count is at most kMaxWarmupCount.
absl::StatusOr<ModelSpec> ParseModelConfig(std::string_view text, std::string_view path,
                                           std::string_view dir_name);

// Reads `<model_dir>/config.pbtxt` and parses it.
absl::StatusOr<ModelSpec> LoadModelConfig(const std::string& model_dir, std::string_view dir_name);

// The configuration as Triton's GET /v2/models/{m}/config returns it: the
// parsed ModelConfig in protobuf's JSON form with proto field names, every
// scalar printed (defaults included), enums by name, 64-bit integers as
// numbers, map keys sorted; name and backend filled in as tide resolved them.
std::string ModelConfigJson(const ModelSpec& spec);

}  // namespace tide::core
