// The generic On Demand value readers and validators and the field readers
// of the KServe V2 JSON request decoder (see v2_json_reader.h).

#include "frontends/http/v2_json_reader.h"

namespace tide::http::internal {

absl::Status Bad(const std::string& msg) { return absl::InvalidArgumentError(msg); }

error_code AsDomError(error_code e) {
  switch (e) {
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
    case simdjson::TRAILING_CONTENT:
      return simdjson::TAPE_ERROR;
    default:
      return e;
  }
}

error_code Validate(od::value v, int depth) {
  od::json_type t;
  if (error_code e = v.type().get(t)) return e;
  if (t == od::json_type::array) {
    if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
    od::array a;
    if (error_code e = v.get_array().get(a)) return e;
    return ForEachElement(a, [&](od::value c) { return Validate(c, depth + 1); });
  }
  if (t == od::json_type::object) {
    if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
    od::object o;
    if (error_code e = v.get_object().get(o)) return e;
    return ForEachField(o, [&](std::string_view, od::value c) { return Validate(c, depth + 1); });
  }
  Scalar s;
  return Read(v, depth, &s);
}

error_code Read(od::value v, int depth, Scalar* s) {
  od::json_type t;
  if (error_code e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::array:
      s->kind = Scalar::kArray;
      return Validate(v, depth);
    case od::json_type::object:
      s->kind = Scalar::kObject;
      return Validate(v, depth);
    case od::json_type::number: {
      od::number n;
      if (error_code e = v.get_number().get(n)) return e;
      switch (n.get_number_type()) {
        case od::number_type::signed_integer:
          s->kind = Scalar::kInt64;
          s->i = n.get_int64();
          break;
        case od::number_type::unsigned_integer:
          s->kind = Scalar::kUint64;
          s->u = n.get_uint64();
          break;
        default:
          s->kind = Scalar::kDouble;
          s->d = FloatValue(v, n);
          break;
      }
      return SUCCESS;
    }
    case od::json_type::string:
      s->kind = Scalar::kString;
      return v.get_string().get(s->s);
    case od::json_type::boolean: {
      s->kind = Scalar::kBool;
      const bool t_atom = v.raw_json_token()[0] == 't';
      error_code e = v.get_bool().get(s->b);
      if (e == simdjson::INCORRECT_TYPE)
        return t_atom ? simdjson::T_ATOM_ERROR : simdjson::F_ATOM_ERROR;
      return e;
    }
    case od::json_type::null: {
      s->kind = Scalar::kNull;
      bool is_null = false;
      error_code e = v.is_null().get(is_null);
      if (e == simdjson::INCORRECT_TYPE || (e == SUCCESS && !is_null))
        return simdjson::N_ATOM_ERROR;
      return e;
    }
  }
  return simdjson::TAPE_ERROR;
}

error_code ReadString(od::value v, int depth, Seen* seen, std::string* out) {
  Scalar s;
  if (error_code e = Read(v, depth, &s)) return e;
  *seen = s.kind == Scalar::kString ? Seen::kOk : Seen::kWrongType;
  if (*seen == Seen::kOk) out->assign(s.s);
  return SUCCESS;
}

error_code ReadBool(od::value v, int depth, Seen* seen, bool* out) {
  Scalar s;
  if (error_code e = Read(v, depth, &s)) return e;
  *seen = s.kind == Scalar::kBool ? Seen::kOk : Seen::kWrongType;
  *out = s.b;
  return SUCCESS;
}

error_code ReadCount(od::value v, int depth, Seen* seen, int64_t* out) {
  Scalar s;
  if (error_code e = Read(v, depth, &s)) return e;
  *seen = s.kind == Scalar::kInt64 && s.i >= 0 ? Seen::kOk : Seen::kWrongType;
  *out = s.i;
  return SUCCESS;
}

error_code CheckOuterBrackets(const char* json, size_t len) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t first = 0;
  while (first < len && space(json[first])) ++first;
  size_t last = len;
  while (last > first && space(json[last - 1])) --last;
  if (first == last) return SUCCESS;
  if (json[first] == '{' && json[last - 1] != '}') return simdjson::TAPE_ERROR;
  if (json[first] == '[' && json[last - 1] != ']') return simdjson::TAPE_ERROR;
  return SUCCESS;
}

bool StartsWithContainer(const char* json, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    char c = json[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' || c == '[';
  }
  return false;
}

}  // namespace tide::http::internal
