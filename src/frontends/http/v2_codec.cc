#include "frontends/http/v2_codec.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/half.h"
#include "common/logging.h"
#include "simdjson.h"

namespace tide::http {
namespace {

namespace dom = simdjson::dom;
using core::DataType;

absl::Status Bad(const std::string& msg) { return absl::InvalidArgumentError(msg); }

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Appends one JSON element of `type` to `out`.
absl::Status AppendElement(dom::element e, DataType type, const std::string& name,
                           std::string* out) {
  auto mismatch = [&](const char* want) {
    return Bad(absl::StrCat(
        "input '", name, "': data holds ",
        [&] {
          switch (e.type()) {
            case dom::element_type::STRING:
              return "a string";
            case dom::element_type::BOOL:
              return "a boolean";
            case dom::element_type::NULL_VALUE:
              return "null";
            case dom::element_type::OBJECT:
              return "an object";
            case dom::element_type::DOUBLE:
              return "a fractional number";
            default:
              return "a number";
          }
        }(),
        " where ", want, " is expected for ", core::V2Name(type)));
  };
  auto integer = [&](int64_t lo, uint64_t hi, auto tag) -> absl::Status {
    using T = decltype(tag);
    if (e.is_int64()) {
      int64_t v = int64_t(e);
      if (v < lo || (v > 0 && static_cast<uint64_t>(v) > hi)) {
        return Bad(
            absl::StrCat("input '", name, "': ", v, " is out of range for ", core::V2Name(type)));
      }
      Put<T>(out, static_cast<T>(v));
      return absl::OkStatus();
    }
    if (e.is_uint64()) {
      uint64_t v = uint64_t(e);
      if (v > hi)
        return Bad(
            absl::StrCat("input '", name, "': ", v, " is out of range for ", core::V2Name(type)));
      Put<T>(out, static_cast<T>(v));
      return absl::OkStatus();
    }
    return mismatch("an integer");
  };
  auto out_of_range = [&](double v) {
    return Bad(
        absl::StrCat("input '", name, "': ", v, " is out of range for ", core::V2Name(type)));
  };
  auto number = [&]() -> std::optional<double> {
    if (e.is_double()) return double(e);
    if (e.is_int64()) return static_cast<double>(int64_t(e));
    if (e.is_uint64()) return static_cast<double>(uint64_t(e));
    return std::nullopt;
  };
  switch (type) {
    case DataType::kBool:
      if (!e.is_bool()) return mismatch("true or false");
      Put<uint8_t>(out, bool(e) ? 1 : 0);
      return absl::OkStatus();
    case DataType::kInt8:
      return integer(INT8_MIN, INT8_MAX, int8_t{});
    case DataType::kInt16:
      return integer(INT16_MIN, INT16_MAX, int16_t{});
    case DataType::kInt32:
      return integer(INT32_MIN, INT32_MAX, int32_t{});
    case DataType::kInt64:
      return integer(INT64_MIN, INT64_MAX, int64_t{});
    case DataType::kUint8:
      return integer(0, UINT8_MAX, uint8_t{});
    case DataType::kUint16:
      return integer(0, UINT16_MAX, uint16_t{});
    case DataType::kUint32:
      return integer(0, UINT32_MAX, uint32_t{});
    case DataType::kUint64:
      return integer(0, UINT64_MAX, uint64_t{});
    case DataType::kFp16: {
      // JSON numbers are finite (simdjson refuses what overflows a double):
      // one that rounds to infinity is out of the type's range.
      auto v = number();
      if (!v) return mismatch("a number");
      uint16_t h = common::FloatToHalf(static_cast<float>(*v));
      if ((h & 0x7fff) == 0x7c00) return out_of_range(*v);
      Put<uint16_t>(out, h);
      return absl::OkStatus();
    }
    case DataType::kFp32: {
      auto v = number();
      if (!v) return mismatch("a number");
      float f = static_cast<float>(*v);
      if (std::isinf(f)) return out_of_range(*v);
      Put<float>(out, f);
      return absl::OkStatus();
    }
    case DataType::kFp64: {
      auto v = number();
      if (!v) return mismatch("a number");
      Put<double>(out, *v);
      return absl::OkStatus();
    }
    case DataType::kBytes: {
      if (!e.is_string()) return mismatch("a string");
      std::string_view s = std::string_view(e);
      Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
      out->append(s.data(), s.size());
      return absl::OkStatus();
    }
  }
  return Bad("unsupported datatype");
}

// The number of elements of `a`: simdjson's size() saturates at 2^24 - 1,
// so longer arrays are counted.
size_t ArraySize(dom::array a) {
  size_t n = a.size();
  if (n < 0xFFFFFF) return n;
  n = 0;
  for (dom::element c : a) {
    (void)c;
    ++n;
  }
  return n;
}

// The common case, a flat array of plain numbers for a floating-point
// input, in one tight loop. Returns false (and leaves `out` as it was) on
// anything else, which the general path then handles or names the error of.
template <typename T>
bool AppendNumbersFast(dom::array a, int64_t* count, std::string* out) {
  const size_t old = out->size();
  const size_t n = ArraySize(a);
  out->resize(old + n * sizeof(T));
  char* p = out->data() + old;
  for (dom::element c : a) {
    double v;
    switch (c.type()) {
      case dom::element_type::DOUBLE:
        v = double(c);
        break;
      case dom::element_type::INT64:
        v = static_cast<double>(int64_t(c));
        break;
      case dom::element_type::UINT64:
        v = static_cast<double>(uint64_t(c));
        break;
      default:
        out->resize(old);
        return false;
    }
    T t = static_cast<T>(v);
    if (std::isinf(t)) {  // a finite double beyond float's range
      out->resize(old);
      return false;
    }
    std::memcpy(p, &t, sizeof(T));
    p += sizeof(T);
  }
  *count += static_cast<int64_t>(n);
  return true;
}

// Flattens nested arrays (row-major) into `out`, counting elements.
absl::Status AppendData(dom::element e, DataType type, const std::string& name, int depth,
                        int64_t* count, std::string* out) {
  if (depth > 32) return Bad(absl::StrCat("input '", name, "': data is nested too deeply"));
  if (e.is_array()) {
    if (type == DataType::kFp32 && AppendNumbersFast<float>(dom::array(e), count, out)) {
      return absl::OkStatus();
    }
    if (type == DataType::kFp64 && AppendNumbersFast<double>(dom::array(e), count, out)) {
      return absl::OkStatus();
    }
    for (dom::element child : dom::array(e)) {
      if (absl::Status s = AppendData(child, type, name, depth + 1, count, out); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  ++*count;
  return AppendElement(e, type, name, out);
}

// The parameter `key` of `params`, if present.
absl::StatusOr<std::optional<bool>> BoolParam(dom::element params, const char* key,
                                              const std::string& where) {
  dom::element v;
  if (params[key].get(v) != simdjson::SUCCESS) return std::nullopt;
  if (!v.is_bool()) return Bad(absl::StrCat(where, "parameter '", key, "' must be true or false"));
  return bool(v);
}

// Never grown past kMaxCachedParserCapacity: larger bodies get a parser of
// their own.
thread_local dom::parser tl_parser;

}  // namespace

size_t CachedParserCapacity() { return tl_parser.capacity(); }

absl::StatusOr<size_t> ParseHeaderLength(const std::string& value, size_t body_size) {
  size_t n = 0;
  if (!absl::SimpleAtoi(value, &n)) {
    return Bad(absl::StrCat("Inference-Header-Content-Length '", value, "' is not a number"));
  }
  if (n > body_size) {
    return Bad(absl::StrCat("Inference-Header-Content-Length ", n, " is larger than the body (",
                            body_size, " bytes)"));
  }
  return n;
}

absl::StatusOr<core::InferRequest> DecodeInferRequest(std::string body,
                                                      std::optional<size_t> header_length) {
  const size_t body_size = body.size();
  size_t json_len = header_length.value_or(body_size);
  if (json_len > body_size) {
    return Bad(absl::StrCat("Inference-Header-Content-Length ", json_len,
                            " is larger than the body (", body_size, " bytes)"));
  }
  // simdjson reads up to SIMDJSON_PADDING bytes past the JSON. The binary
  // part serves when it is long enough; otherwise the body grows (at most
  // one copy, freed with the body) instead of simdjson copying the JSON into
  // a buffer that its parser would keep.
  if (body_size - json_len < simdjson::SIMDJSON_PADDING) {
    body.reserve(json_len + simdjson::SIMDJSON_PADDING);
    body.append(json_len + simdjson::SIMDJSON_PADDING - body_size, ' ');
  }
  std::string_view binary(body.data() + json_len, body_size - json_len);
  std::optional<dom::parser> own;
  dom::parser& parser = json_len <= kMaxCachedParserCapacity ? tl_parser : own.emplace();
  dom::element root;
  auto err = parser.parse(body.data(), json_len, false).get(root);
  if (err == simdjson::MEMALLOC) {
    // The server's memory, not the request, is at fault: retry (503).
    return absl::UnavailableError(absl::StrCat(
        "not enough memory to parse a JSON body of ", json_len,
        " bytes now; retry later, or send large tensors with the binary tensor extension"));
  }
  if (err) {
    return Bad(absl::StrCat("request body is not valid JSON: ", simdjson::error_message(err)));
  }
  if (!root.is_object()) return Bad("request body must be a JSON object");
  core::InferRequest req;
  dom::element v;
  if (root["id"].get(v) == simdjson::SUCCESS) {
    if (!v.is_string()) return Bad("'id' must be a string");
    req.id = std::string(std::string_view(v));
  }
  dom::element params;
  if (root["parameters"].get(params) == simdjson::SUCCESS) {
    if (!params.is_object()) return Bad("'parameters' must be an object");
    auto b = BoolParam(params, "binary_data_output", "request ");
    if (!b.ok()) return b.status();
    req.binary_outputs = b->value_or(false);
    if (params["timeout"].get(v) == simdjson::SUCCESS) {
      if (!v.is_int64() || int64_t(v) < 0) {
        return Bad("request parameter 'timeout' must be a non-negative integer (microseconds)");
      }
      req.timeout = absl::Microseconds(int64_t(v));
    }
  }
  dom::element inputs;
  if (root["inputs"].get(inputs) != simdjson::SUCCESS || !inputs.is_array()) {
    return Bad("request needs an 'inputs' array");
  }
  size_t offset = 0;
  size_t index = 0;
  for (dom::element in : dom::array(inputs)) {
    std::string where = absl::StrCat("inputs[", index++, "]");
    if (!in.is_object()) return Bad(absl::StrCat(where, " must be an object"));
    core::Tensor t;
    if (in["name"].get(v) != simdjson::SUCCESS || !v.is_string()) {
      return Bad(absl::StrCat(where, " needs a string 'name'"));
    }
    t.name = std::string(std::string_view(v));
    if (in["datatype"].get(v) != simdjson::SUCCESS || !v.is_string()) {
      return Bad(absl::StrCat("input '", t.name, "' needs a string 'datatype'"));
    }
    auto dt = core::DataTypeFromV2(std::string_view(v));
    if (!dt) {
      return Bad(absl::StrCat("input '", t.name, "': unknown datatype '",
                              std::string(std::string_view(v)),
                              "' (use BOOL, INT8..64, UINT8..64, FP16, FP32, FP64 or BYTES)"));
    }
    t.datatype = *dt;
    dom::element shape;
    if (in["shape"].get(shape) != simdjson::SUCCESS || !shape.is_array()) {
      return Bad(absl::StrCat("input '", t.name, "' needs a 'shape' array"));
    }
    for (dom::element d : dom::array(shape)) {
      if (!d.is_int64() || int64_t(d) < 0) {
        return Bad(absl::StrCat("input '", t.name, "': shape must hold non-negative integers"));
      }
      t.shape.push_back(int64_t(d));
    }
    if (t.shape.size() > 16) return Bad(absl::StrCat("input '", t.name, "': more than 16 dims"));
    int64_t expected = t.ElementCount();
    if (expected < 0) {
      return Bad(absl::StrCat("input '", t.name, "': shape ", core::ShapeToString(t.shape),
                              " is too large"));
    }
    std::optional<size_t> binary_size;
    if (in["parameters"].get(params) == simdjson::SUCCESS) {
      if (!params.is_object())
        return Bad(absl::StrCat("input '", t.name, "': 'parameters' must be an object"));
      if (params["binary_data_size"].get(v) == simdjson::SUCCESS) {
        if (!v.is_int64() || int64_t(v) < 0) {
          return Bad(absl::StrCat("input '", t.name,
                                  "': binary_data_size must be a non-negative integer"));
        }
        binary_size = static_cast<size_t>(int64_t(v));
      }
    }
    dom::element data;
    bool has_data = in["data"].get(data) == simdjson::SUCCESS;
    if (binary_size) {
      if (has_data)
        return Bad(absl::StrCat("input '", t.name, "' has both 'data' and binary_data_size"));
      if (!header_length) {
        return Bad(absl::StrCat("input '", t.name,
                                "' has binary_data_size but the request has no "
                                "Inference-Header-Content-Length header"));
      }
      if (*binary_size > binary.size() - offset) {
        return Bad(absl::StrCat("input '", t.name, "': binary_data_size ", *binary_size,
                                " runs past the end "
                                "of the body (",
                                binary.size() - offset, " binary bytes left)"));
      }
      t.data.assign(binary.data() + offset, *binary_size);
      offset += *binary_size;
      if (absl::Status s = core::ValidateTensorData(t); !s.ok()) return s;
    } else {
      if (!has_data)
        return Bad(absl::StrCat("input '", t.name, "' has no 'data' (nor binary_data_size)"));
      // Each element takes at least a byte and a separator: a claim the
      // body cannot hold is refused before anything is allocated for it.
      if (static_cast<uint64_t>(expected) > (json_len + 1) / 2) {
        return Bad(absl::StrCat("input '", t.name, "': shape ", core::ShapeToString(t.shape),
                                " needs ", expected, " elements, more than a JSON body of ",
                                json_len, " bytes can hold"));
      }
      int64_t count = 0;
      t.data.reserve(static_cast<size_t>(expected) * core::ElementSize(t.datatype));
      if (absl::Status s = AppendData(data, t.datatype, t.name, 0, &count, &t.data); !s.ok())
        return s;
      if (count != expected) {
        return Bad(absl::StrCat("input '", t.name, "': shape ", core::ShapeToString(t.shape),
                                " needs ", expected, " elements, data has ", count));
      }
    }
    req.inputs.push_back(std::move(t));
  }
  if (offset != binary.size()) {
    return Bad(absl::StrCat(binary.size() - offset,
                            " bytes of binary data are not claimed by any "
                            "input's binary_data_size"));
  }
  dom::element outputs;
  if (root["outputs"].get(outputs) == simdjson::SUCCESS) {
    if (!outputs.is_array()) return Bad("'outputs' must be an array");
    index = 0;
    for (dom::element o : dom::array(outputs)) {
      std::string where = absl::StrCat("outputs[", index++, "]");
      if (!o.is_object() || o["name"].get(v) != simdjson::SUCCESS || !v.is_string()) {
        return Bad(absl::StrCat(where, " needs a string 'name'"));
      }
      // An output's own binary_data parameter wins over the request's
      // binary_data_output, either way.
      core::RequestedOutput ro{std::string(std::string_view(v)), req.binary_outputs};
      if (o["parameters"].get(params) == simdjson::SUCCESS) {
        if (!params.is_object())
          return Bad(absl::StrCat(where, ": 'parameters' must be an object"));
        auto b = BoolParam(params, "binary_data", absl::StrCat("output '", ro.name, "' "));
        if (!b.ok()) return b.status();
        ro.binary = b->value_or(ro.binary);
      }
      req.outputs.push_back(std::move(ro));
    }
  }
  return req;
}

namespace {

template <typename T>
void AppendNumbers(const std::string& data, std::string* out) {
  char buf[64];
  size_t n = data.size() / sizeof(T);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, data.data() + i * sizeof(T), sizeof(T));
    if (i) out->push_back(',');
    if constexpr (std::is_floating_point_v<T>) {
      // JSON has no NaN or infinity: they are the strings of proto3's JSON
      // mapping.
      if (std::isnan(v)) {
        out->append("\"NaN\"");
        continue;
      }
      if (std::isinf(v)) {
        out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        continue;
      }
    }
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, end);
  }
}

void AppendJsonData(const core::Tensor& t, std::string* out) {
  switch (t.datatype) {
    case DataType::kBool: {
      for (size_t i = 0; i < t.data.size(); ++i) {
        if (i) out->push_back(',');
        out->append(t.data[i] ? "true" : "false");
      }
      return;
    }
    case DataType::kInt8:
      return AppendNumbers<int8_t>(t.data, out);
    case DataType::kInt16:
      return AppendNumbers<int16_t>(t.data, out);
    case DataType::kInt32:
      return AppendNumbers<int32_t>(t.data, out);
    case DataType::kInt64:
      return AppendNumbers<int64_t>(t.data, out);
    case DataType::kUint8:
      return AppendNumbers<uint8_t>(t.data, out);
    case DataType::kUint16:
      return AppendNumbers<uint16_t>(t.data, out);
    case DataType::kUint32:
      return AppendNumbers<uint32_t>(t.data, out);
    case DataType::kUint64:
      return AppendNumbers<uint64_t>(t.data, out);
    case DataType::kFp16: {
      std::string f;
      for (size_t i = 0; i + 1 < t.data.size(); i += 2) {
        uint16_t h;
        std::memcpy(&h, t.data.data() + i, 2);
        Put<float>(&f, common::HalfToFloat(h));
      }
      return AppendNumbers<float>(f, out);
    }
    case DataType::kFp32:
      return AppendNumbers<float>(t.data, out);
    case DataType::kFp64:
      return AppendNumbers<double>(t.data, out);
    case DataType::kBytes: {
      size_t pos = 0;
      bool first = true;
      while (pos + 4 <= t.data.size()) {
        uint32_t len;
        std::memcpy(&len, t.data.data() + pos, 4);
        pos += 4;
        if (!first) out->push_back(',');
        first = false;
        absl::StrAppend(out, "\"", common::JsonEscape(std::string_view(t.data).substr(pos, len)),
                        "\"");
        pos += len;
      }
      return;
    }
  }
}

}  // namespace

EncodedResponse EncodeInferResponse(const core::InferResponse& r) {
  EncodedResponse enc;
  std::string& out = enc.body;
  std::string binary;
  absl::StrAppend(&out, "{\"model_name\":\"", common::JsonEscape(r.model_name),
                  "\",\"model_version\":\"", common::JsonEscape(r.model_version), "\"");
  if (!r.id.empty()) absl::StrAppend(&out, ",\"id\":\"", common::JsonEscape(r.id), "\"");
  out.append(",\"outputs\":[");
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const core::Tensor& t = r.outputs[i];
    if (i) out.push_back(',');
    absl::StrAppend(&out, "{\"name\":\"", common::JsonEscape(t.name), "\",\"datatype\":\"",
                    core::V2Name(t.datatype), "\",\"shape\":", core::ShapeToString(t.shape));
    bool as_binary = i < r.binary.size() && r.binary[i];
    if (as_binary) {
      absl::StrAppend(&out, ",\"parameters\":{\"binary_data_size\":", t.data.size(), "}}");
      binary.append(t.data);
    } else {
      out.append(",\"data\":[");
      AppendJsonData(t, &out);
      out.append("]}");
    }
  }
  out.append("]}");
  bool any_binary = false;
  for (bool b : r.binary) any_binary |= b;
  if (any_binary) {
    enc.header_length = out.size();
    out.append(binary);
  }
  return enc;
}

}  // namespace tide::http
