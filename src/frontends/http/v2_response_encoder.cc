// The KServe V2 JSON response encoder: EncodeInferResponse writes the
// outputs as JSON data, or as Triton's binary tensor data after the JSON.

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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

// Writes the numbers into a stack buffer, appended to `out` whenever it
// fills up: one append per few hundred numbers instead of two per number.
template <typename T>
void AppendNumbers(const std::string& data, std::string* out) {
  constexpr size_t kMaxNumber = 32;  // the longest to_chars of T, a comma, and room to spare
  char buf[2048];
  char* p = buf;
  size_t n = data.size() / sizeof(T);
  for (size_t i = 0; i < n; ++i) {
    if (p > buf + sizeof(buf) - kMaxNumber) {
      out->append(buf, p);
      p = buf;
    }
    T v;
    std::memcpy(&v, data.data() + i * sizeof(T), sizeof(T));
    if (i) *p++ = ',';
    if constexpr (std::is_floating_point_v<T>) {
      // JSON has no NaN or infinity: they are the strings of proto3's JSON
      // mapping.
      if (std::isnan(v) || std::isinf(v)) {
        std::string_view s = std::isnan(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        std::memcpy(p, s.data(), s.size());
        p += s.size();
        continue;
      }
    }
    p = std::to_chars(p, buf + sizeof(buf), v).ptr;
  }
  out->append(buf, p);
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

// Appends `s` as the inside of a JSON string: as it is when no byte needs
// escaping (printable ASCII other than '"' and '\\', the usual names and
// ids), else as common::JsonEscape writes it.
void AppendEscaped(std::string_view s, std::string* out) {
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      out->append(common::JsonEscape(s));
      return;
    }
  }
  out->append(s);
}

// Appends a shape as core::ShapeToString writes it: [d0,d1,...].
void AppendShape(const std::vector<int64_t>& shape, std::string* out) {
  char buf[24];
  out->push_back('[');
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out->push_back(',');
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), shape[i]);
    out->append(buf, end);
  }
  out->push_back(']');
}

// A first guess of the encoded size (the body grows past it if need be):
// names and punctuation, and up to 4 characters of JSON per byte of data.
size_t SizeHint(const core::InferResponse& r) {
  size_t n = 64 + r.model_name.size() + r.model_version.size() + r.id.size();
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const core::Tensor& t = r.outputs[i];
    const bool as_binary = i < r.binary.size() && r.binary[i];
    n += 96 + t.name.size() + 21 * t.shape.size() + (as_binary ? 1 : 4) * t.data.size();
  }
  return n;
}

}  // namespace

EncodedResponse EncodeInferResponse(const core::InferResponse& r) {
  EncodedResponse enc;
  std::string& out = enc.body;
  out.reserve(SizeHint(r));
  out.append("{\"model_name\":\"");
  AppendEscaped(r.model_name, &out);
  out.append("\",\"model_version\":\"");
  AppendEscaped(r.model_version, &out);
  out.push_back('"');
  if (!r.id.empty()) {
    out.append(",\"id\":\"");
    AppendEscaped(r.id, &out);
    out.push_back('"');
  }
  out.append(",\"outputs\":[");
  bool any_binary = false;
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const core::Tensor& t = r.outputs[i];
    if (i) out.push_back(',');
    out.append("{\"name\":\"");
    AppendEscaped(t.name, &out);
    out.append("\",\"datatype\":\"");
    out.append(core::V2Name(t.datatype));
    out.append("\",\"shape\":");
    AppendShape(t.shape, &out);
    bool as_binary = i < r.binary.size() && r.binary[i];
    if (as_binary) {
      absl::StrAppend(&out, ",\"parameters\":{\"binary_data_size\":", t.data.size(), "}}");
    } else {
      out.append(",\"data\":[");
      AppendJsonData(t, &out);
      out.append("]}");
    }
  }
  out.append("]}");
  for (bool b : r.binary) any_binary |= b;
  if (any_binary) {
    enc.header_length = out.size();
    // The binary outputs' data, in the order of the outputs.
    for (size_t i = 0; i < r.outputs.size() && i < r.binary.size(); ++i) {
      if (r.binary[i]) out.append(r.outputs[i].data);
    }
  }
  return enc;
}

absl::Status CheckJsonEncodable(const core::InferResponse& r) {
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const core::Tensor& t = r.outputs[i];
    if (t.datatype != DataType::kBytes || (i < r.binary.size() && r.binary[i])) continue;
    size_t pos = 0;
    for (int64_t element = 0; pos + 4 <= t.data.size(); ++element) {
      uint32_t len;
      std::memcpy(&len, t.data.data() + pos, 4);
      pos += 4;
      if (!common::IsUtf8(std::string_view(t.data).substr(pos, len))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "output '", t.name, "' element ", element,
            " is not UTF-8 text, which a JSON string cannot carry: request the output as binary "
            "data (\"parameters\": {\"binary_data\": true} in the request's outputs)"));
      }
      pos += len;
    }
  }
  return absl::OkStatus();
}

}  // namespace tide::http
