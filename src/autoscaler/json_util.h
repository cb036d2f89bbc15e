#pragma once

// Small helpers for reading nlohmann::json with errors that name the JSON
// path ("$[2].pods[0].startTime: expected a number"). Internal to the module.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autoscaler/quantity.h"
#include "nlohmann/json.hpp"

namespace tide::autoscaler::json_util {

using nlohmann::json;

inline std::string Child(std::string_view path, std::string_view key) {
  std::string p(path);
  if (!p.empty()) p += '.';
  p += key;
  return p;
}
inline std::string Index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

absl::Status Error(std::string_view path, std::string_view message);

// nullptr when `key` is absent or null.
const json* Find(const json& obj, std::string_view key);

absl::StatusOr<std::optional<std::string>> OptString(const json& obj, std::string_view key,
                                                     std::string_view path);
absl::StatusOr<std::optional<int64_t>> OptInt(const json& obj, std::string_view key,
                                              std::string_view path);
absl::StatusOr<std::optional<int32_t>> OptInt32(const json& obj, std::string_view key,
                                                std::string_view path);
absl::StatusOr<std::optional<double>> OptNumber(const json& obj, std::string_view key,
                                                std::string_view path);
absl::StatusOr<std::optional<bool>> OptBool(const json& obj, std::string_view key,
                                            std::string_view path);
// A quantity given as a JSON string or number.
absl::StatusOr<Quantity> ToQuantity(const json& v, std::string_view path);
absl::StatusOr<std::optional<Quantity>> OptQuantity(const json& obj, std::string_view key,
                                                    std::string_view path);
absl::Status ExpectObject(const json& v, std::string_view path);
absl::Status ExpectArray(const json& v, std::string_view path);

}  // namespace tide::autoscaler::json_util
