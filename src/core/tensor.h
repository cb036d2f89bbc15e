#pragma once

// Tensors as they cross tide's boundaries: a name, a datatype, a shape and the
// raw bytes. Numeric data is little-endian, row-major. BYTES tensors use
// Triton's binary layout: each element is a 4-byte little-endian length
// followed by that many bytes.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/datatype.h"

namespace tide::core {

struct Tensor {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::string data;

  // Product of the dims (1 for a scalar shape []).
  int64_t ElementCount() const;
};

// Product of `shape`'s dims; -1 if any dim is negative or the product overflows.
int64_t ShapeElementCount(const std::vector<int64_t>& shape);

// "[1,16]"
std::string ShapeToString(const std::vector<int64_t>& shape);

// Checks that `t.data` holds exactly ElementCount() elements of `t.datatype`
// (for BYTES: walks the length prefixes). InvalidArgument names the tensor.
absl::Status ValidateTensorData(const Tensor& t);

// Concatenates tensors of equal datatype and equal dims past the first along
// dim 0 (the batch dim). Used to build one batch from several requests.
absl::StatusOr<Tensor> ConcatBatch(const std::vector<const Tensor*>& parts);

// Splits `t` along dim 0 into pieces of `sizes[i]` rows (sum must equal dim 0).
absl::StatusOr<std::vector<Tensor>> SplitBatch(const Tensor& t, const std::vector<int64_t>& sizes);

}  // namespace tide::core
