#pragma once

// The On Demand reading helpers of the KServe V2 JSON request decoder
// (v2_request_decoder.cc), internal to tide_http: generic value readers and
// validators that refuse what simdjson's DOM parser refused, with the DOM's
// errors, and the field readers, which note what a key held.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "simdjson.h"

namespace tide::http::internal {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

absl::Status Bad(const std::string& msg);

// simdjson's DOM refuses documents nested deeper than this.
constexpr int kMaxJsonDepth = static_cast<int>(simdjson::DEFAULT_MAX_DEPTH);

// JSON nesting of an input's `data` value: root object, 'inputs', the input.
constexpr int kDataJsonDepth = 3;

// The errors that only On Demand reports, as the DOM names them.
error_code AsDomError(error_code e);

// One JSON value, read in full (an array or object is only validated) and
// typed as simdjson's DOM types it.
struct Scalar {
  enum Kind { kArray, kObject, kString, kBool, kNull, kInt64, kUint64, kDouble };
  Kind kind = kNull;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  bool b = false;
  std::string_view s;  // valid until the document is rewound
};

error_code Read(od::value v, int depth, Scalar* s);

// Walks `v` (at nesting `depth`), validating every value in it.
error_code Validate(od::value v, int depth);

template <typename F>
error_code ForEachField(od::object o, F&& fn) {
  for (auto result : o) {
    od::field f;
    if (error_code e = std::move(result).get(f)) return e;
    std::string_view key;
    if (error_code e = f.unescaped_key().get(key)) return e;
    if (error_code e = fn(key, f.value())) return e;
  }
  return SUCCESS;
}

template <typename F>
error_code ForEachElement(od::array a, F&& fn) {
  for (auto result : a) {
    od::value v;
    if (error_code e = std::move(result).get(v)) return e;
    if (error_code e = fn(v)) return e;
  }
  return SUCCESS;
}

// simdjson 3.0.1's On Demand get_number() loses the value of a number with
// more than 19 significant digits (it comes back as 0.0; the DOM gets it
// right): a floating-point zero of more than 19 characters is parsed again
// from its text, as the DOM parses such a number.
inline double FloatValue(od::value& v, const od::number& n) {
  double d = n.get_double();
  if (simdjson_unlikely(d == 0)) {
    std::string_view text = v.raw_json_token();
    if (text.size() > 19) d = simdjson::internal::from_chars(text.data());
  }
  return d;
}

// What the first occurrence of a key held.
enum class Seen { kAbsent, kWrongType, kOk };

// Reads the first occurrence of a string field.
error_code ReadString(od::value v, int depth, Seen* seen, std::string* out);

error_code ReadBool(od::value v, int depth, Seen* seen, bool* out);

// A non-negative int64, as the DOM's is_int64() took it.
error_code ReadCount(od::value v, int depth, Seen* seen, int64_t* out);

// Calls `fn` on `v` as an object, or validates it and notes the wrong type.
template <typename F>
error_code IfObject(od::value v, int depth, Seen* seen, F&& fn) {
  od::json_type t;
  if (error_code e = v.type().get(t)) return e;
  if (t != od::json_type::object) {
    *seen = Seen::kWrongType;
    return Validate(v, depth);
  }
  if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
  *seen = Seen::kOk;
  od::object o;
  if (error_code e = v.get_object().get(o)) return e;
  return ForEachField(o, fn);
}

template <typename F>
error_code IfArray(od::value v, int depth, Seen* seen, F&& fn) {
  od::json_type t;
  if (error_code e = v.type().get(t)) return e;
  if (t != od::json_type::array) {
    *seen = Seen::kWrongType;
    return Validate(v, depth);
  }
  if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
  *seen = Seen::kOk;
  od::array a;
  if (error_code e = v.get_array().get(a)) return e;
  return ForEachElement(a, fn);
}

// simdjson's DOM parser refuses a document whose outer '{' or '[' is not
// matched by its last structural character before anything else.
error_code CheckOuterBrackets(const char* json, size_t len);

// Whether the first character of the JSON (after whitespace) opens an
// object or an array.
bool StartsWithContainer(const char* json, size_t len);

}  // namespace tide::http::internal
