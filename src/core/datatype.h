#pragma once

// The tensor element types of the KServe V2 protocol and of Triton's
// config.pbtxt, and the conversions between their spellings.

#include <cstddef>
#include <optional>
#include <string_view>

namespace tide::core {

enum class DataType {
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBytes,
};

// "FP32" → kFp32 (the V2 protocol's names); nullopt for an unknown name.
std::optional<DataType> DataTypeFromV2(std::string_view name);
// kFp32 → "FP32".
const char* V2Name(DataType type);
// "TYPE_FP32" → kFp32 (config.pbtxt's names; TYPE_STRING is BYTES).
std::optional<DataType> DataTypeFromConfig(std::string_view name);
// Bytes per element; 0 for BYTES, whose elements have variable size.
size_t ElementSize(DataType type);

}  // namespace tide::core
