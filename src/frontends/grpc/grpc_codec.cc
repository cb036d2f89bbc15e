#include "frontends/grpc/grpc_codec.h"

#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tide::grpcfe {
namespace {

using core::DataType;

absl::Status Bad(const std::string& msg) { return absl::InvalidArgumentError(msg); }

template <typename T, typename Src>
absl::Status Pack(const Src& values, const std::string& name, DataType type, std::string* out) {
  out->resize(static_cast<size_t>(values.size()) * sizeof(T));
  for (int i = 0; i < values.size(); ++i) {
    auto v = values.Get(i);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (v < static_cast<decltype(v)>(std::numeric_limits<T>::min()) ||
          v > static_cast<decltype(v)>(std::numeric_limits<T>::max())) {
        return Bad(
            absl::StrCat("input '", name, "': ", v, " is out of range for ", core::V2Name(type)));
      }
    }
    T t = static_cast<T>(v);
    std::memcpy(out->data() + static_cast<size_t>(i) * sizeof(T), &t, sizeof(T));
  }
  return absl::OkStatus();
}

// Converts typed contents; sets *count to the number of elements given.
absl::Status FromContents(const inference::InferTensorContents& c, const std::string& name,
                          DataType type, std::string* out, int64_t* count) {
  switch (type) {
    case DataType::kBool:
      *count = c.bool_contents_size();
      return Pack<uint8_t>(c.bool_contents(), name, type, out);
    case DataType::kInt8:
      *count = c.int_contents_size();
      return Pack<int8_t>(c.int_contents(), name, type, out);
    case DataType::kInt16:
      *count = c.int_contents_size();
      return Pack<int16_t>(c.int_contents(), name, type, out);
    case DataType::kInt32:
      *count = c.int_contents_size();
      return Pack<int32_t>(c.int_contents(), name, type, out);
    case DataType::kInt64:
      *count = c.int64_contents_size();
      return Pack<int64_t>(c.int64_contents(), name, type, out);
    case DataType::kUint8:
      *count = c.uint_contents_size();
      return Pack<uint8_t>(c.uint_contents(), name, type, out);
    case DataType::kUint16:
      *count = c.uint_contents_size();
      return Pack<uint16_t>(c.uint_contents(), name, type, out);
    case DataType::kUint32:
      *count = c.uint_contents_size();
      return Pack<uint32_t>(c.uint_contents(), name, type, out);
    case DataType::kUint64:
      *count = c.uint64_contents_size();
      return Pack<uint64_t>(c.uint64_contents(), name, type, out);
    case DataType::kFp32:
      *count = c.fp32_contents_size();
      return Pack<float>(c.fp32_contents(), name, type, out);
    case DataType::kFp64:
      *count = c.fp64_contents_size();
      return Pack<double>(c.fp64_contents(), name, type, out);
    case DataType::kFp16:
      return Bad(absl::StrCat("input '", name, "': FP16 data must be sent as raw_input_contents"));
    case DataType::kBytes:
      *count = c.bytes_contents_size();
      for (const std::string& s : c.bytes_contents()) {
        uint32_t n = static_cast<uint32_t>(s.size());
        out->append(reinterpret_cast<const char*>(&n), 4);
        out->append(s);
      }
      return absl::OkStatus();
  }
  return Bad("unsupported datatype");
}

}  // namespace

absl::StatusOr<core::InferRequest> FromProto(const inference::ModelInferRequest& r) {
  core::InferRequest req;
  req.id = r.id();
  req.model_name = r.model_name();
  req.model_version = r.model_version();
  if (auto it = r.parameters().find("timeout"); it != r.parameters().end()) {
    if (it->second.parameter_choice_case() != inference::InferParameter::kInt64Param ||
        it->second.int64_param() < 0) {
      return Bad("request parameter 'timeout' must be a non-negative int64 (microseconds)");
    }
    req.timeout = absl::Microseconds(it->second.int64_param());
  }
  bool raw = r.raw_input_contents_size() > 0;
  if (raw && r.raw_input_contents_size() != r.inputs_size()) {
    return Bad(absl::StrCat("raw_input_contents has ", r.raw_input_contents_size(), " entries for ",
                            r.inputs_size(), " inputs"));
  }
  for (int i = 0; i < r.inputs_size(); ++i) {
    const auto& in = r.inputs(i);
    core::Tensor t;
    t.name = in.name();
    auto dt = core::DataTypeFromV2(in.datatype());
    if (!dt) {
      return Bad(absl::StrCat("input '", t.name, "': unknown datatype '", in.datatype(),
                              "' (use BOOL, INT8..64, UINT8..64, FP16, FP32, FP64 or BYTES)"));
    }
    t.datatype = *dt;
    for (int64_t d : in.shape()) {
      if (d < 0)
        return Bad(absl::StrCat("input '", t.name, "': shape must hold non-negative integers"));
      t.shape.push_back(d);
    }
    int64_t expected = t.ElementCount();
    if (expected < 0) {
      return Bad(absl::StrCat("input '", t.name, "': shape ", core::ShapeToString(t.shape),
                              " is too large"));
    }
    if (raw) {
      if (in.has_contents()) {
        return Bad(absl::StrCat("input '", t.name, "' has both contents and raw_input_contents"));
      }
      t.data = r.raw_input_contents(i);
      if (absl::Status s = core::ValidateTensorData(t); !s.ok()) return s;
    } else {
      int64_t count = 0;
      if (absl::Status s = FromContents(in.contents(), t.name, t.datatype, &t.data, &count);
          !s.ok())
        return s;
      if (count != expected) {
        return Bad(absl::StrCat("input '", t.name, "': shape ", core::ShapeToString(t.shape),
                                " needs ", expected, " elements, contents has ", count));
      }
    }
    req.inputs.push_back(std::move(t));
  }
  for (const auto& o : r.outputs()) req.outputs.push_back({o.name(), false});
  return req;
}

namespace {

// R is `const core::InferResponse&` (copies) or `core::InferResponse&` (moves).
template <typename R>
void Encode(R& r, inference::ModelInferResponse* out) {
  constexpr bool kMove = !std::is_const_v<R>;
  auto take = [](auto& s) -> decltype(auto) {
    if constexpr (kMove) {
      return std::move(s);
    } else {
      return static_cast<const std::string&>(s);
    }
  };
  out->set_model_name(take(r.model_name));
  out->set_model_version(take(r.model_version));
  out->set_id(take(r.id));
  out->mutable_outputs()->Reserve(static_cast<int>(r.outputs.size()));
  out->mutable_raw_output_contents()->Reserve(static_cast<int>(r.outputs.size()));
  for (auto& t : r.outputs) {
    auto* o = out->add_outputs();
    o->set_name(take(t.name));
    o->set_datatype(core::V2Name(t.datatype));
    o->mutable_shape()->Reserve(static_cast<int>(t.shape.size()));
    for (int64_t d : t.shape) o->add_shape(d);
    *out->add_raw_output_contents() = take(t.data);
  }
}

}  // namespace

void ToProto(const core::InferResponse& r, inference::ModelInferResponse* out) { Encode(r, out); }

void ToProto(core::InferResponse&& r, inference::ModelInferResponse* out) { Encode(r, out); }

}  // namespace tide::grpcfe
