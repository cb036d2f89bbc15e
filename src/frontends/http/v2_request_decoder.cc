// The KServe V2 JSON request decoder: DecodeInferRequest reads the body
// with simdjson On Demand (the helpers of v2_json_reader.h), decoding the
// inputs' data as it goes (DataDecoder) and noting what each of the
// request's fields held, then checks them and assembles the InferRequest,
// taking binary tensor data from after the JSON.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/half.h"
#include "frontends/http/http_types.h"
#include "frontends/http/v2_codec.h"
#include "frontends/http/v2_json_reader.h"
#include "simdjson.h"

namespace tide::http {
namespace {

namespace od = simdjson::ondemand;
using core::DataType;
using internal::AsDomError;
using internal::Bad;
using internal::CheckOuterBrackets;
using internal::FloatValue;
using internal::ForEachElement;
using internal::ForEachField;
using internal::IfArray;
using internal::IfObject;
using internal::kDataJsonDepth;
using internal::kMaxJsonDepth;
using internal::Read;
using internal::ReadBool;
using internal::ReadCount;
using internal::ReadString;
using internal::Scalar;
using internal::Seen;
using internal::StartsWithContainer;
using internal::Validate;
using simdjson::error_code;
using simdjson::SUCCESS;

// The request is read with simdjson's On Demand API, which keeps only the
// structural indexes (4 bytes per byte of JSON) rather than a DOM (about 14),
// in one pass that validates every value as simdjson's DOM parser did (a
// body the DOM refused is refused, with the DOM's error, except that where a
// body is broken twice in a row, e.g. a bad escape in a key then no colon,
// the second may be named) while decoding the tensors' data straight into
// their buffers. What each field held is noted
// (the first occurrence of a key, as a DOM lookup finds it) and checked
// afterwards in a fixed order, so the error named does not depend on the
// order of the fields.

// Decodes an input's `data` (flat or nested arrays, row-major) into `out`,
// counting elements. The first error in the data is kept and the rest of
// the value is only validated.
class DataDecoder {
 public:
  DataDecoder(DataType type, const std::string& name, std::string* out)
      : type_(type), name_(name), out_(out), len_(out->size()) {}

  error_code Append(od::value v, int depth, int json_depth) {
    if (!status_.ok()) return Validate(v, json_depth);
    if (depth > 32) {
      status_ = Bad(absl::StrCat("input '", name_, "': data is nested too deeply"));
      return Validate(v, json_depth);
    }
    od::json_type t;
    if (error_code e = v.type().get(t)) return e;
    if (t != od::json_type::array) {
      ++count_;
      Scalar s;
      if (error_code e = Read(v, json_depth, &s)) return e;
      status_ = Element(s);
      return SUCCESS;
    }
    if (json_depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
    od::array a;
    if (error_code e = v.get_array().get(a)) return e;
    switch (type_) {
      case DataType::kFp32:
        return AppendFloats<float>(a, depth, json_depth);
      case DataType::kFp64:
        return AppendFloats<double>(a, depth, json_depth);
      default:
        break;
    }
    // Integers: only where the elements' own depth check passes (they are at
    // depth + 1), so the general path's errors are kept.
    if (depth < 32) {
      switch (type_) {
        case DataType::kInt8:
          return AppendIntegers<int8_t>(a, depth, json_depth);
        case DataType::kInt16:
          return AppendIntegers<int16_t>(a, depth, json_depth);
        case DataType::kInt32:
          return AppendIntegers<int32_t>(a, depth, json_depth);
        case DataType::kInt64:
          return AppendIntegers<int64_t>(a, depth, json_depth);
        case DataType::kUint8:
          return AppendIntegers<uint8_t>(a, depth, json_depth);
        case DataType::kUint16:
          return AppendIntegers<uint16_t>(a, depth, json_depth);
        case DataType::kUint32:
          return AppendIntegers<uint32_t>(a, depth, json_depth);
        case DataType::kUint64:
          return AppendIntegers<uint64_t>(a, depth, json_depth);
        default:
          break;
      }
    }
    return ForEachElement(a, [&](od::value c) { return Append(c, depth + 1, json_depth + 1); });
  }

  // The data's first error, or OK with `*count` elements decoded.
  absl::Status Finish(int64_t* count) {
    out_->resize(len_);
    *count = count_;
    return status_;
  }

 private:
  // The common case, plain numbers for a floating-point input, in a tight
  // loop; anything else takes the general path.
  template <typename T>
  error_code AppendFloats(od::array a, int depth, int json_depth) {
    return ForEachElement(a, [&](od::value c) -> error_code {
      od::json_type t;
      if (error_code e = c.type().get(t)) return e;
      if (t != od::json_type::number || !status_.ok()) return Append(c, depth + 1, json_depth + 1);
      od::number n;
      if (error_code e = c.get_number().get(n)) return e;
      ++count_;
      double v;
      switch (n.get_number_type()) {
        case od::number_type::signed_integer:
          v = static_cast<double>(n.get_int64());
          break;
        case od::number_type::unsigned_integer:
          v = static_cast<double>(n.get_uint64());
          break;
        default:
          v = FloatValue(c, n);
          break;
      }
      T f = static_cast<T>(v);
      if (std::isinf(f)) {  // a finite double beyond float's range
        status_ = OutOfRange(v);
        return SUCCESS;
      }
      PutValue<T>(f);
      return SUCCESS;
    });
  }

  // An integer element for T: stored when it fits, else named by Element().
  template <typename T>
  void PutInt64(int64_t v) {
    if (v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
        (v <= 0 ||
         static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
      PutValue<T>(static_cast<T>(v));
      return;
    }
    Scalar s;
    s.kind = Scalar::kInt64;
    s.i = v;
    status_ = Element(s);
  }

  // Like AppendFloats, for an integer input: in-range integers are stored
  // at once; any other number goes through Element(), which names the error
  // as the general path does; anything but a number takes the general path.
  template <typename T>
  error_code AppendIntegers(od::array a, int depth, int json_depth) {
    return ForEachElement(a, [&](od::value c) -> error_code {
      // The usual element, an integer within int64: one parse (get_int64
      // succeeds exactly where get_number below gives a signed integer, with
      // the same value). On an error nothing is consumed, and the general
      // code below decides as before.
      int64_t i;
      if (status_.ok() && c.get_int64().get(i) == SUCCESS) {
        ++count_;
        PutInt64<T>(i);
        return SUCCESS;
      }
      od::json_type t;
      if (error_code e = c.type().get(t)) return e;
      if (t != od::json_type::number || !status_.ok()) return Append(c, depth + 1, json_depth + 1);
      od::number n;
      if (error_code e = c.get_number().get(n)) return e;
      ++count_;
      Scalar s;
      switch (n.get_number_type()) {
        case od::number_type::signed_integer:
          PutInt64<T>(n.get_int64());
          return SUCCESS;
        case od::number_type::unsigned_integer: {
          const uint64_t v = n.get_uint64();
          if (v <= static_cast<uint64_t>(std::numeric_limits<T>::max())) {
            PutValue<T>(static_cast<T>(v));
            return SUCCESS;
          }
          s.kind = Scalar::kUint64;
          s.u = v;
          break;
        }
        default:
          s.kind = Scalar::kDouble;
          s.d = FloatValue(c, n);
          break;
      }
      status_ = Element(s);
      return SUCCESS;
    });
  }

  template <typename T>
  void PutValue(T v) {
    if (out_->size() - len_ < sizeof(T)) Grow(sizeof(T));
    std::memcpy(out_->data() + len_, &v, sizeof(T));
    len_ += sizeof(T);
  }

  void PutBytes(std::string_view s) {
    if (out_->size() - len_ < s.size()) Grow(s.size());
    std::memcpy(out_->data() + len_, s.data(), s.size());
    len_ += s.size();
  }

  // Grows the written size of `out_` (within its reserved capacity when it
  // has room) so `n` more bytes fit after the first `len_`.
  void Grow(size_t n) {
    size_t want = std::min(out_->capacity(), std::max<size_t>(2 * out_->size(), 4096));
    out_->resize(std::max(want, len_ + n));
  }

  absl::Status OutOfRange(double v) const {
    return Bad(
        absl::StrCat("input '", name_, "': ", v, " is out of range for ", core::V2Name(type_)));
  }

  absl::Status Mismatch(const Scalar& s, const char* want) const {
    const char* holds = "a number";
    switch (s.kind) {
      case Scalar::kString:
        holds = "a string";
        break;
      case Scalar::kBool:
        holds = "a boolean";
        break;
      case Scalar::kNull:
        holds = "null";
        break;
      case Scalar::kObject:
        holds = "an object";
        break;
      case Scalar::kDouble:
        holds = "a fractional number";
        break;
      default:
        break;
    }
    return Bad(absl::StrCat("input '", name_, "': data holds ", holds, " where ", want,
                            " is expected for ", core::V2Name(type_)));
  }

  template <typename T>
  absl::Status Integer(const Scalar& s, int64_t lo, uint64_t hi) {
    if (s.kind == Scalar::kInt64) {
      int64_t v = s.i;
      if (v < lo || (v > 0 && static_cast<uint64_t>(v) > hi)) {
        return Bad(
            absl::StrCat("input '", name_, "': ", v, " is out of range for ", core::V2Name(type_)));
      }
      PutValue<T>(static_cast<T>(v));
      return absl::OkStatus();
    }
    if (s.kind == Scalar::kUint64) {
      uint64_t v = s.u;
      if (v > hi) {
        return Bad(
            absl::StrCat("input '", name_, "': ", v, " is out of range for ", core::V2Name(type_)));
      }
      PutValue<T>(static_cast<T>(v));
      return absl::OkStatus();
    }
    return Mismatch(s, "an integer");
  }

  // Appends one JSON element of the input's type.
  absl::Status Element(const Scalar& s) {
    std::optional<double> number;
    if (s.kind == Scalar::kDouble) number = s.d;
    if (s.kind == Scalar::kInt64) number = static_cast<double>(s.i);
    if (s.kind == Scalar::kUint64) number = static_cast<double>(s.u);
    switch (type_) {
      case DataType::kBool:
        if (s.kind != Scalar::kBool) return Mismatch(s, "true or false");
        PutValue<uint8_t>(s.b ? 1 : 0);
        return absl::OkStatus();
      case DataType::kInt8:
        return Integer<int8_t>(s, INT8_MIN, INT8_MAX);
      case DataType::kInt16:
        return Integer<int16_t>(s, INT16_MIN, INT16_MAX);
      case DataType::kInt32:
        return Integer<int32_t>(s, INT32_MIN, INT32_MAX);
      case DataType::kInt64:
        return Integer<int64_t>(s, INT64_MIN, INT64_MAX);
      case DataType::kUint8:
        return Integer<uint8_t>(s, 0, UINT8_MAX);
      case DataType::kUint16:
        return Integer<uint16_t>(s, 0, UINT16_MAX);
      case DataType::kUint32:
        return Integer<uint32_t>(s, 0, UINT32_MAX);
      case DataType::kUint64:
        return Integer<uint64_t>(s, 0, UINT64_MAX);
      case DataType::kFp16: {
        // JSON numbers are finite (simdjson refuses what overflows a
        // double): one that rounds to infinity is out of the type's range.
        if (!number) return Mismatch(s, "a number");
        uint16_t h = common::FloatToHalf(static_cast<float>(*number));
        if ((h & 0x7fff) == 0x7c00) return OutOfRange(*number);
        PutValue<uint16_t>(h);
        return absl::OkStatus();
      }
      case DataType::kFp32: {
        if (!number) return Mismatch(s, "a number");
        float f = static_cast<float>(*number);
        if (std::isinf(f)) return OutOfRange(*number);
        PutValue<float>(f);
        return absl::OkStatus();
      }
      case DataType::kFp64:
        if (!number) return Mismatch(s, "a number");
        PutValue<double>(*number);
        return absl::OkStatus();
      case DataType::kBytes:
        if (s.kind != Scalar::kString) return Mismatch(s, "a string");
        PutValue<uint32_t>(static_cast<uint32_t>(s.s.size()));
        PutBytes(s.s);
        return absl::OkStatus();
    }
    return Bad("unsupported datatype");
  }

  const DataType type_;
  const std::string& name_;
  std::string* const out_;
  size_t len_;  // bytes of `out_` written so far
  int64_t count_ = 0;
  absl::Status status_;
};

struct InputFields {
  bool is_object = false;
  Seen name = Seen::kAbsent;
  std::string name_value;
  Seen datatype = Seen::kAbsent;
  std::string datatype_value;
  Seen shape = Seen::kAbsent;
  bool shape_bad = false;     // holds something other than a non-negative int64
  std::vector<int64_t> dims;  // up to 17 (more than 16 is an error)
  Seen parameters = Seen::kAbsent;
  Seen binary_size = Seen::kAbsent;  // kWrongType: not a non-negative integer
  size_t binary_size_value = 0;
  bool has_data = false;
  bool decoded = false;  // data decoded during the walk (else it is decoded later)
  absl::Status data_status;
  int64_t data_count = 0;
  std::string data;
};

struct OutputFields {
  bool is_object = false;
  Seen name = Seen::kAbsent;
  std::string name_value;
  Seen parameters = Seen::kAbsent;
  Seen binary_data = Seen::kAbsent;
  bool binary_data_value = false;
};

struct RequestFields {
  bool is_object = false;
  Seen id = Seen::kAbsent;
  std::string id_value;
  Seen parameters = Seen::kAbsent;
  Seen binary_data_output = Seen::kAbsent;
  bool binary_data_output_value = false;
  Seen timeout = Seen::kAbsent;
  int64_t timeout_value = 0;
  Seen inputs = Seen::kAbsent;
  std::vector<InputFields> input_list;
  Seen outputs = Seen::kAbsent;
  std::vector<OutputFields> output_list;
};

// The element count of a valid shape, or -1 (too large).
int64_t ElementCount(const std::vector<int64_t>& dims) {
  core::Tensor t;
  t.shape = dims;
  return t.ElementCount();
}

// Each element takes at least a byte and a separator: a claim the body
// cannot hold is refused before anything is allocated for it.
bool FitsInBody(int64_t expected, size_t json_len) {
  return static_cast<uint64_t>(expected) <= (json_len + 1) / 2;
}

error_code ReadInput(od::value v, size_t json_len, InputFields* in) {
  constexpr int kDepth = 2;  // root object, 'inputs'
  od::json_type t;
  if (error_code e = v.type().get(t)) return e;
  in->is_object = t == od::json_type::object;
  if (!in->is_object) return Validate(v, kDepth);
  Seen seen_object;
  return IfObject(v, kDepth, &seen_object, [&](std::string_view key, od::value f) -> error_code {
    constexpr int d = kDepth + 1;
    if (key == "name" && in->name == Seen::kAbsent) {
      return ReadString(f, d, &in->name, &in->name_value);
    }
    if (key == "datatype" && in->datatype == Seen::kAbsent) {
      return ReadString(f, d, &in->datatype, &in->datatype_value);
    }
    if (key == "shape" && in->shape == Seen::kAbsent) {
      in->dims.reserve(4);  // one allocation for the usual shapes, not one per dim
      return IfArray(f, d, &in->shape, [&](od::value dim) -> error_code {
        Scalar s;
        if (error_code e = Read(dim, d + 1, &s)) return e;
        if (in->shape_bad) return SUCCESS;
        if (s.kind != Scalar::kInt64 || s.i < 0) {
          in->shape_bad = true;
        } else if (in->dims.size() <= 16) {
          in->dims.push_back(s.i);
        }
        return SUCCESS;
      });
    }
    if (key == "parameters" && in->parameters == Seen::kAbsent) {
      return IfObject(f, d, &in->parameters, [&](std::string_view pkey, od::value p) {
        if (pkey == "binary_data_size" && in->binary_size == Seen::kAbsent) {
          int64_t n = 0;
          error_code e = ReadCount(p, d + 1, &in->binary_size, &n);
          in->binary_size_value = static_cast<size_t>(n);
          return e;
        }
        return Validate(p, d + 1);
      });
    }
    if (key == "data" && !in->has_data) {
      in->has_data = true;
      // Decoded now when what comes before it says it will be needed (the
      // usual order); otherwise it is only validated, and decoded later.
      std::optional<DataType> type;
      if (in->datatype == Seen::kOk) type = core::DataTypeFromV2(in->datatype_value);
      bool decode = in->name == Seen::kOk && type && in->binary_size == Seen::kAbsent &&
                    in->parameters != Seen::kWrongType && in->shape != Seen::kWrongType &&
                    !in->shape_bad && in->dims.size() <= 16;
      size_t reserve = 0;
      if (decode && in->shape == Seen::kOk) {
        int64_t expected = ElementCount(in->dims);
        decode = expected >= 0 && FitsInBody(expected, json_len);
        if (decode) reserve = static_cast<size_t>(expected) * core::ElementSize(*type);
      }
      if (!decode) return Validate(f, d);
      in->data.reserve(reserve);
      DataDecoder decoder(*type, in->name_value, &in->data);
      if (error_code e = decoder.Append(f, 0, kDataJsonDepth)) return e;
      in->data_status = decoder.Finish(&in->data_count);
      in->decoded = true;
      return SUCCESS;
    }
    return Validate(f, d);
  });
}

error_code ReadOutput(od::value v, OutputFields* out) {
  constexpr int kDepth = 2;  // root object, 'outputs'
  od::json_type t;
  if (error_code e = v.type().get(t)) return e;
  out->is_object = t == od::json_type::object;
  if (!out->is_object) return Validate(v, kDepth);
  Seen seen_object;
  return IfObject(v, kDepth, &seen_object, [&](std::string_view key, od::value f) -> error_code {
    constexpr int d = kDepth + 1;
    if (key == "name" && out->name == Seen::kAbsent) {
      return ReadString(f, d, &out->name, &out->name_value);
    }
    if (key == "parameters" && out->parameters == Seen::kAbsent) {
      return IfObject(f, d, &out->parameters, [&](std::string_view pkey, od::value p) {
        if (pkey == "binary_data" && out->binary_data == Seen::kAbsent) {
          return ReadBool(p, d + 1, &out->binary_data, &out->binary_data_value);
        }
        return Validate(p, d + 1);
      });
    }
    return Validate(f, d);
  });
}

// One pass over the whole document: validates it and notes what the
// request's fields hold, decoding input data where it can.
error_code ReadRequest(od::document& doc, size_t json_len, RequestFields* req) {
  od::json_type t;
  if (error_code e = doc.type().get(t)) return e;
  req->is_object = t == od::json_type::object;
  if (!req->is_object) {
    if (t != od::json_type::array) return simdjson::TAPE_ERROR;  // see StartsWithContainer
    od::array a;
    if (error_code e = doc.get_array().get(a)) return e;
    if (error_code e = ForEachElement(a, [](od::value c) { return Validate(c, 1); })) return e;
  } else {
    od::object root;
    if (error_code e = doc.get_object().get(root)) return e;
    error_code e = ForEachField(root, [&](std::string_view key, od::value f) -> error_code {
      constexpr int d = 1;
      if (key == "id" && req->id == Seen::kAbsent) {
        return ReadString(f, d, &req->id, &req->id_value);
      }
      if (key == "parameters" && req->parameters == Seen::kAbsent) {
        return IfObject(f, d, &req->parameters, [&](std::string_view pkey, od::value p) {
          if (pkey == "binary_data_output" && req->binary_data_output == Seen::kAbsent) {
            return ReadBool(p, d + 1, &req->binary_data_output, &req->binary_data_output_value);
          }
          if (pkey == "timeout" && req->timeout == Seen::kAbsent) {
            return ReadCount(p, d + 1, &req->timeout, &req->timeout_value);
          }
          return Validate(p, d + 1);
        });
      }
      if (key == "inputs" && req->inputs == Seen::kAbsent) {
        req->input_list.reserve(4);  // one allocation for up to 4 inputs
        return IfArray(f, d, &req->inputs, [&](od::value in) {
          req->input_list.emplace_back();
          return ReadInput(in, json_len, &req->input_list.back());
        });
      }
      if (key == "outputs" && req->outputs == Seen::kAbsent) {
        return IfArray(f, d, &req->outputs, [&](od::value out) {
          req->output_list.emplace_back();
          return ReadOutput(out, &req->output_list.back());
        });
      }
      return Validate(f, d);
    });
    if (e) return e;
  }
  // Anything after the root value.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return simdjson::TAPE_ERROR;
  return SUCCESS;
}

// Decodes the data of input `index` on a second pass over the (already
// validated) document, for an input whose data came before what decoding
// it needs.
error_code DecodeDataAgain(od::document& doc, size_t index, DataDecoder* decoder) {
  doc.rewind();
  od::object root;
  if (error_code e = doc.get_object().get(root)) return e;
  bool inputs_seen = false;
  return ForEachField(root, [&](std::string_view key, od::value f) -> error_code {
    if (key != "inputs" || inputs_seen) return SUCCESS;
    inputs_seen = true;
    od::array inputs;
    if (error_code e = f.get_array().get(inputs)) return e;
    size_t i = 0;
    return ForEachElement(inputs, [&](od::value in) -> error_code {
      if (i++ != index) return SUCCESS;
      od::object o;
      if (error_code e = in.get_object().get(o)) return e;
      bool data_seen = false;
      return ForEachField(o, [&](std::string_view k, od::value data) -> error_code {
        if (k != "data" || data_seen) return SUCCESS;
        data_seen = true;
        return decoder->Append(data, 0, kDataJsonDepth);
      });
    });
  });
}

// Never grown past kMaxCachedParserCapacity: larger bodies get a parser of
// their own.
thread_local od::parser tl_parser;

absl::Status NotValidJson(error_code err, size_t json_len) {
  if (err == simdjson::MEMALLOC) {
    // The server's memory, not the request, is at fault: retry (503).
    return absl::UnavailableError(absl::StrCat(
        "not enough memory to parse a JSON body of ", json_len,
        " bytes now; retry later, or send large tensors with the binary tensor extension"));
  }
  return Bad(
      absl::StrCat("request body is not valid JSON: ", simdjson::error_message(AsDomError(err))));
}

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
  // The transport reserves room for the padding (kRequestBodySlack), so this
  // appends in place.
  static_assert(kRequestBodySlack >= simdjson::SIMDJSON_PADDING);
  if (body_size - json_len < simdjson::SIMDJSON_PADDING) {
    body.reserve(json_len + simdjson::SIMDJSON_PADDING);
    body.append(json_len + simdjson::SIMDJSON_PADDING - body_size, ' ');
  }
  std::string_view binary(body.data() + json_len, body_size - json_len);
  if (!StartsWithContainer(body.data(), json_len)) {
    // Never a request, but named as before: On Demand takes a value at the
    // root unlike the DOM (which touches no more memory for it than On
    // Demand: stage 1's indexes and a copy of the value).
    simdjson::dom::parser dom_parser;
    simdjson::dom::element root;
    error_code e = dom_parser.parse(body.data(), json_len, false).get(root);
    if (e) return NotValidJson(e, json_len);
    return Bad("request body must be a JSON object");
  }
  std::optional<od::parser> own;
  od::parser& parser = json_len <= kMaxCachedParserCapacity ? tl_parser : own.emplace();
  od::document doc;
  RequestFields fields;
  error_code err = parser.iterate(body.data(), json_len, body.size()).get(doc);
  if (!err) err = CheckOuterBrackets(body.data(), json_len);
  if (!err) err = ReadRequest(doc, json_len, &fields);
  if (err) return NotValidJson(err, json_len);

  // The checks, in a fixed order.
  if (!fields.is_object) return Bad("request body must be a JSON object");
  core::InferRequest req;
  if (fields.id == Seen::kWrongType) return Bad("'id' must be a string");
  req.id = std::move(fields.id_value);
  if (fields.parameters == Seen::kWrongType) return Bad("'parameters' must be an object");
  if (fields.binary_data_output == Seen::kWrongType) {
    return Bad("request parameter 'binary_data_output' must be true or false");
  }
  req.binary_outputs = fields.binary_data_output_value;
  if (fields.timeout == Seen::kWrongType) {
    return Bad("request parameter 'timeout' must be a non-negative integer (microseconds)");
  }
  if (fields.timeout == Seen::kOk) req.timeout = absl::Microseconds(fields.timeout_value);
  if (fields.inputs != Seen::kOk) return Bad("request needs an 'inputs' array");
  size_t offset = 0;
  req.inputs.reserve(fields.input_list.size());
  for (size_t index = 0; index < fields.input_list.size(); ++index) {
    InputFields& in = fields.input_list[index];
    if (!in.is_object) return Bad(absl::StrCat("inputs[", index, "] must be an object"));
    core::Tensor t;
    if (in.name != Seen::kOk) return Bad(absl::StrCat("inputs[", index, "] needs a string 'name'"));
    t.name = std::move(in.name_value);
    if (in.datatype != Seen::kOk) {
      return Bad(absl::StrCat("input '", t.name, "' needs a string 'datatype'"));
    }
    auto dt = core::DataTypeFromV2(in.datatype_value);
    if (!dt) {
      return Bad(absl::StrCat("input '", t.name, "': unknown datatype '", in.datatype_value,
                              "' (use BOOL, INT8..64, UINT8..64, FP16, FP32, FP64 or BYTES)"));
    }
    t.datatype = *dt;
    if (in.shape != Seen::kOk)
      return Bad(absl::StrCat("input '", t.name, "' needs a 'shape' array"));
    if (in.shape_bad) {
      return Bad(absl::StrCat("input '", t.name, "': shape must hold non-negative integers"));
    }
    if (in.dims.size() > 16) return Bad(absl::StrCat("input '", t.name, "': more than 16 dims"));
    t.shape = std::move(in.dims);
    int64_t expected = t.ElementCount();
    if (expected < 0) {
      return Bad(absl::StrCat("input '", t.name, "': shape ", core::ShapeToString(t.shape),
                              " is too large"));
    }
    if (in.parameters == Seen::kWrongType) {
      return Bad(absl::StrCat("input '", t.name, "': 'parameters' must be an object"));
    }
    if (in.binary_size == Seen::kWrongType) {
      return Bad(
          absl::StrCat("input '", t.name, "': binary_data_size must be a non-negative integer"));
    }
    if (in.binary_size == Seen::kOk) {
      const size_t binary_size = in.binary_size_value;
      if (in.has_data)
        return Bad(absl::StrCat("input '", t.name, "' has both 'data' and binary_data_size"));
      if (!header_length) {
        return Bad(absl::StrCat("input '", t.name,
                                "' has binary_data_size but the request has no "
                                "Inference-Header-Content-Length header"));
      }
      if (binary_size > binary.size() - offset) {
        return Bad(absl::StrCat("input '", t.name, "': binary_data_size ", binary_size,
                                " runs past the end "
                                "of the body (",
                                binary.size() - offset, " binary bytes left)"));
      }
      t.data.assign(binary.data() + offset, binary_size);
      offset += binary_size;
      if (absl::Status s = core::ValidateTensorData(t); !s.ok()) return s;
    } else {
      if (!in.has_data)
        return Bad(absl::StrCat("input '", t.name, "' has no 'data' (nor binary_data_size)"));
      if (!FitsInBody(expected, json_len)) {
        return Bad(absl::StrCat("input '", t.name, "': shape ", core::ShapeToString(t.shape),
                                " needs ", expected, " elements, more than a JSON body of ",
                                json_len, " bytes can hold"));
      }
      int64_t count = 0;
      if (in.decoded) {
        if (!in.data_status.ok()) return in.data_status;
        count = in.data_count;
        t.data = std::move(in.data);
      } else {
        t.data.reserve(static_cast<size_t>(expected) * core::ElementSize(t.datatype));
        DataDecoder decoder(t.datatype, t.name, &t.data);
        if (error_code e = DecodeDataAgain(doc, index, &decoder)) return NotValidJson(e, json_len);
        if (absl::Status s = decoder.Finish(&count); !s.ok()) return s;
      }
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
  if (fields.outputs == Seen::kWrongType) return Bad("'outputs' must be an array");
  req.outputs.reserve(fields.output_list.size());
  for (size_t index = 0; index < fields.output_list.size(); ++index) {
    OutputFields& o = fields.output_list[index];
    if (!o.is_object || o.name != Seen::kOk) {
      return Bad(absl::StrCat("outputs[", index, "] needs a string 'name'"));
    }
    // An output's own binary_data parameter wins over the request's
    // binary_data_output, either way.
    core::RequestedOutput ro{std::move(o.name_value), req.binary_outputs};
    if (o.parameters == Seen::kWrongType) {
      return Bad(absl::StrCat("outputs[", index, "]: 'parameters' must be an object"));
    }
    if (o.binary_data == Seen::kWrongType) {
      return Bad(
          absl::StrCat("output '", ro.name, "' parameter 'binary_data' must be true or false"));
    }
    if (o.binary_data == Seen::kOk) ro.binary = o.binary_data_value;
    req.outputs.push_back(std::move(ro));
  }
  return req;
}

}  // namespace tide::http
