#include "autoscaler/json_util.h"

#include <charconv>
#include <limits>

#include "absl/strings/str_cat.h"
#include "autoscaler/absl_compat.h"

namespace tide::autoscaler::json_util {

absl::Status Error(std::string_view path, std::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path.empty() ? "$" : AV(path), ": ", AV(message)));
}

const json* Find(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::StatusOr<std::optional<std::string>> OptString(const json& obj, std::string_view key,
                                                     std::string_view path) {
  const json* v = Find(obj, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return Error(Child(path, key), "expected a string");
  return std::optional<std::string>(v->get<std::string>());
}

absl::StatusOr<std::optional<int64_t>> OptInt(const json& obj, std::string_view key,
                                              std::string_view path) {
  const json* v = Find(obj, key);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(Child(path, key), "integer out of range");
    }
    return std::optional<int64_t>(static_cast<int64_t>(u));
  }
  if (v->is_number_integer()) return std::optional<int64_t>(v->get<int64_t>());
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return Error(Child(path, key), "expected an integer");
}

absl::StatusOr<std::optional<int32_t>> OptInt32(const json& obj, std::string_view key,
                                                std::string_view path) {
  auto v = OptInt(obj, key, path);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<int32_t>();
  int64_t x = **v;
  if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
    return Error(Child(path, key), "integer out of int32 range");
  }
  return std::optional<int32_t>(static_cast<int32_t>(x));
}

absl::StatusOr<std::optional<double>> OptNumber(const json& obj, std::string_view key,
                                                std::string_view path) {
  const json* v = Find(obj, key);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number()) return Error(Child(path, key), "expected a number");
  return std::optional<double>(v->get<double>());
}

absl::StatusOr<std::optional<bool>> OptBool(const json& obj, std::string_view key,
                                            std::string_view path) {
  const json* v = Find(obj, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return Error(Child(path, key), "expected true or false");
  return std::optional<bool>(v->get<bool>());
}

absl::StatusOr<Quantity> ToQuantity(const json& v, std::string_view path) {
  std::string text;
  if (v.is_string()) {
    text = v.get<std::string>();
  } else if (v.is_number_unsigned()) {
    text = std::to_string(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    text = std::to_string(v.get<int64_t>());
  } else if (v.is_number_float()) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), v.get<double>());
    text.assign(buf, r.ptr);
  } else {
    return Error(path, "expected a quantity (a string such as \"500m\" or a number)");
  }
  auto q = Quantity::Parse(text);
  if (!q.ok()) {
    return Error(path, absl::StrCat("Invalid value: \"", text, "\": ", q.status().message()));
  }
  return *q;
}

absl::StatusOr<std::optional<Quantity>> OptQuantity(const json& obj, std::string_view key,
                                                    std::string_view path) {
  const json* v = Find(obj, key);
  if (v == nullptr) return std::optional<Quantity>();
  auto q = ToQuantity(*v, Child(path, key));
  if (!q.ok()) return q.status();
  return std::optional<Quantity>(*q);
}

absl::Status ExpectObject(const json& v, std::string_view path) {
  if (!v.is_object()) return Error(path, "expected an object");
  return absl::OkStatus();
}

absl::Status ExpectArray(const json& v, std::string_view path) {
  if (!v.is_array()) return Error(path, "expected an array");
  return absl::OkStatus();
}

}  // namespace tide::autoscaler::json_util
