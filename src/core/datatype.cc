#include "core/datatype.h"

#include <array>
#include <utility>

namespace tide::core {
namespace {

struct Entry {
  DataType type;
  std::string_view v2;
  std::string_view config;
  size_t size;
};

constexpr std::array<Entry, 13> kTable = {{
    {DataType::kBool, "BOOL", "TYPE_BOOL", 1},
    {DataType::kUint8, "UINT8", "TYPE_UINT8", 1},
    {DataType::kUint16, "UINT16", "TYPE_UINT16", 2},
    {DataType::kUint32, "UINT32", "TYPE_UINT32", 4},
    {DataType::kUint64, "UINT64", "TYPE_UINT64", 8},
    {DataType::kInt8, "INT8", "TYPE_INT8", 1},
    {DataType::kInt16, "INT16", "TYPE_INT16", 2},
    {DataType::kInt32, "INT32", "TYPE_INT32", 4},
    {DataType::kInt64, "INT64", "TYPE_INT64", 8},
    {DataType::kFp16, "FP16", "TYPE_FP16", 2},
    {DataType::kFp32, "FP32", "TYPE_FP32", 4},
    {DataType::kFp64, "FP64", "TYPE_FP64", 8},
    {DataType::kBytes, "BYTES", "TYPE_STRING", 0},
}};

}  // namespace

std::optional<DataType> DataTypeFromV2(std::string_view name) {
  for (const Entry& e : kTable) {
    if (e.v2 == name) return e.type;
  }
  return std::nullopt;
}

const char* V2Name(DataType type) { return kTable[static_cast<size_t>(type)].v2.data(); }

std::optional<DataType> DataTypeFromConfig(std::string_view name) {
  for (const Entry& e : kTable) {
    if (e.config == name) return e.type;
  }
  return std::nullopt;
}

size_t ElementSize(DataType type) { return kTable[static_cast<size_t>(type)].size; }

}  // namespace tide::core
