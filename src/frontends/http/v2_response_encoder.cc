// The KServe V2 JSON response encoder: EncodeInferResponse writes the
// outputs as JSON data, or as Triton's binary tensor data after the JSON.

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "common/half.h"
#include "common/logging.h"
#include "frontends/http/v2_codec.h"

namespace tide::http {
namespace {

using core::DataType;

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

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
