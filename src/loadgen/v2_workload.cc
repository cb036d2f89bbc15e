#include "loadgen/v2_workload.h"

#include <cmath>
#include <cstring>
#include <random>

#include "common/half.h"
#include "loadgen/grpc_workload.h"
#include "loadgen/text.h"
#include "nlohmann/json.hpp"
#include "simdjson.h"

namespace tide::loadgen {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) Append(&out, i ? "," : "", shape[i]);
  return out + "]";
}

int64_t Elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool IsFloat(std::string_view dt) { return dt == "FP16" || dt == "FP32" || dt == "FP64"; }

ordered_json DataJson(const InputValues& in) {
  ordered_json data = ordered_json::array();
  if (in.datatype == "BYTES") {
    for (const std::string& s : in.strings) data.push_back(s);
  } else if (in.datatype == "BOOL") {
    for (double v : in.numbers) data.push_back(v != 0);
  } else if (IsFloat(in.datatype)) {
    for (double v : in.numbers) {
      if (in.datatype == "FP64")
        data.push_back(v);
      else
        data.push_back(static_cast<float>(v));
    }
  } else if (in.datatype[0] == 'U') {
    for (double v : in.numbers) data.push_back(static_cast<uint64_t>(v));
  } else {
    for (double v : in.numbers) data.push_back(static_cast<int64_t>(v));
  }
  return data;
}

void Flatten(const json& j, std::vector<const json*>* out) {
  if (j.is_array()) {
    for (const json& e : j) Flatten(e, out);
  } else {
    out->push_back(&j);
  }
}

struct ResolvedInput {
  TensorMetadata meta;
  std::vector<int64_t> item_dims;  // -1 where still unknown
};

absl::Status FillFromJson(const json& value, ResolvedInput& in, const V2WorkloadOptions& o,
                          bool batched, size_t entry, InputValues* out) {
  const json* content = &value;
  std::vector<int64_t> item = in.item_dims;
  if (value.is_object()) {
    if (value.contains("b64")) {
      return absl::InvalidArgumentError(Cat("input-data entry ", entry, " input ", in.meta.name,
                                            ": b64 content is not supported"));
    }
    if (!value.contains("content")) {
      return absl::InvalidArgumentError(
          Cat("input-data entry ", entry, " input ", in.meta.name, ": object without 'content'"));
    }
    content = &value["content"];
    if (value.contains("shape")) {
      item.clear();
      for (const json& d : value["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0) {
          return absl::InvalidArgumentError(
              Cat("input-data entry ", entry, " input ", in.meta.name, ": bad shape"));
        }
        item.push_back(d.get<int64_t>());
      }
    }
  }
  std::vector<const json*> flat;
  Flatten(*content, &flat);
  for (int64_t d : item) {
    if (d < 0) {
      return absl::InvalidArgumentError(Cat("input ", in.meta.name, " has a variable dim ",
                                            ShapeText(in.meta.shape),
                                            ": give --shape or a 'shape' in --input-data"));
    }
  }
  const int64_t per_item = Elements(item);
  const int64_t batch = batched ? o.batch_size : 1;
  int64_t repeat = 1;
  if (static_cast<int64_t>(flat.size()) == per_item) {
    repeat = batch;
  } else if (static_cast<int64_t>(flat.size()) != per_item * batch) {
    return absl::InvalidArgumentError(Cat("input-data entry ", entry, " input ", in.meta.name, ": ",
                                          flat.size(), " values for shape ", ShapeText(item)));
  }
  out->name = in.meta.name;
  out->datatype = in.meta.datatype;
  out->shape = item;
  if (batched) out->shape.insert(out->shape.begin(), batch);
  for (int64_t r = 0; r < repeat; ++r) {
    for (const json* v : flat) {
      if (in.meta.datatype == "BYTES") {
        out->strings.push_back(v->is_string() ? v->get<std::string>() : v->dump());
      } else if (v->is_boolean()) {
        out->numbers.push_back(v->get<bool>() ? 1 : 0);
      } else if (v->is_number()) {
        out->numbers.push_back(v->get<double>());
      } else {
        return absl::InvalidArgumentError(
            Cat("input-data entry ", entry, " input ", in.meta.name, ": non-numeric value"));
      }
    }
  }
  return absl::OkStatus();
}

void FillGenerated(const ResolvedInput& in, const V2WorkloadOptions& o, bool batched,
                   std::mt19937_64& rng, InputValues* out) {
  out->name = in.meta.name;
  out->datatype = in.meta.datatype;
  out->shape = in.item_dims;
  if (batched) out->shape.insert(out->shape.begin(), o.batch_size);
  const int64_t n = Elements(out->shape);
  const bool random = o.data == V2WorkloadOptions::Data::kRandom;
  const std::string& dt = in.meta.datatype;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = rng();
    if (dt == "BYTES") {
      out->strings.push_back(random ? std::to_string(r % 1000000) : "0");
    } else if (!random) {
      out->numbers.push_back(0);
    } else if (IsFloat(dt)) {
      out->numbers.push_back(static_cast<double>(r >> 11) * 0x1.0p-53);
    } else if (dt == "BOOL") {
      out->numbers.push_back(static_cast<double>(r & 1));
    } else {
      out->numbers.push_back(static_cast<double>(r % 100));  // fits every integer type
    }
  }
}

std::string SerializeInfer(const std::vector<InputValues>& inputs,
                           const std::vector<V2Workload::ExpectedOutput>& outputs, const Url& url,
                           const V2WorkloadOptions& o) {
  // Keys in the order Triton's clients write them (name, shape, datatype,
  // then parameters or data), not nlohmann::json's sorted order, which puts
  // "data" first: a server measured with tide load then sees the bodies real
  // clients send (tide's own decoder takes a second pass over data that
  // comes before its datatype and shape).
  ordered_json header;
  header["inputs"] = ordered_json::array();
  std::string blobs;
  for (const InputValues& in : inputs) {
    ordered_json t = {{"name", in.name}, {"shape", in.shape}, {"datatype", in.datatype}};
    if (o.binary) {
      std::string blob = EncodeBinary(in);
      t["parameters"] = {{"binary_data_size", blob.size()}};
      blobs += blob;
    } else {
      t["data"] = DataJson(in);
    }
    header["inputs"].push_back(std::move(t));
  }
  header["outputs"] = ordered_json::array();
  for (const auto& out : outputs) {
    ordered_json t = {{"name", out.name}};
    if (o.binary)
      t["parameters"] = {{"binary_data", true}};  // per output (Triton's binary tensor extension)
    header["outputs"].push_back(std::move(t));
  }
  const std::string head = header.dump();
  std::string target = Cat(o.path_prefix, "/v2/models/", o.model);
  if (!o.version.empty()) Append(&target, "/versions/", o.version);
  target += "/infer";
  if (o.binary) {
    return SerializeRequest("POST", url, target,
                            {{"Content-Type", "application/octet-stream"},
                             {"Inference-Header-Content-Length", std::to_string(head.size())}},
                            head + blobs);
  }
  return SerializeRequest("POST", url, target, {{"Content-Type", "application/json"}}, head);
}

absl::StatusOr<TensorMetadata> ParseTensor(const json& j, std::string_view what) {
  TensorMetadata t;
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("datatype") ||
      !j["datatype"].is_string() || !j.contains("shape") || !j["shape"].is_array()) {
    return absl::InvalidArgumentError(Cat("model metadata: bad ", what, " tensor ", j.dump()));
  }
  t.name = j["name"].get<std::string>();
  t.datatype = j["datatype"].get<std::string>();
  for (const json& d : j["shape"]) {
    if (!d.is_number_integer()) {
      return absl::InvalidArgumentError(Cat("model metadata: bad shape of ", t.name));
    }
    t.shape.push_back(d.get<int64_t>());
  }
  if (DatatypeSize(t.datatype) == 0 && t.datatype != "BYTES") {
    return absl::InvalidArgumentError(
        Cat("model metadata: unsupported datatype ", t.datatype, " of ", t.name));
  }
  return t;
}

}  // namespace

namespace {
template <typename T>
void PutLe(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, arm64)
  out->append(b, sizeof(T));
}

}  // namespace

std::string EncodeBinary(const InputValues& in) {
  std::string out;
  const std::string& dt = in.datatype;
  if (dt == "BYTES") {
    for (const std::string& s : in.strings) {
      PutLe<uint32_t>(&out, static_cast<uint32_t>(s.size()));
      out += s;
    }
    return out;
  }
  for (double v : in.numbers) {
    if (dt == "BOOL" || dt == "UINT8")
      PutLe<uint8_t>(&out, static_cast<uint8_t>(v));
    else if (dt == "INT8")
      PutLe<int8_t>(&out, static_cast<int8_t>(v));
    else if (dt == "UINT16")
      PutLe<uint16_t>(&out, static_cast<uint16_t>(v));
    else if (dt == "INT16")
      PutLe<int16_t>(&out, static_cast<int16_t>(v));
    else if (dt == "UINT32")
      PutLe<uint32_t>(&out, static_cast<uint32_t>(v));
    else if (dt == "INT32")
      PutLe<int32_t>(&out, static_cast<int32_t>(v));
    else if (dt == "UINT64")
      PutLe<uint64_t>(&out, static_cast<uint64_t>(v));
    else if (dt == "INT64")
      PutLe<int64_t>(&out, static_cast<int64_t>(v));
    else if (dt == "FP16")
      PutLe<uint16_t>(&out, common::FloatToHalf(static_cast<float>(v)));
    else if (dt == "FP32")
      PutLe<float>(&out, static_cast<float>(v));
    else
      PutLe<double>(&out, v);
  }
  return out;
}

int DatatypeSize(std::string_view dt) {
  if (dt == "BOOL" || dt == "UINT8" || dt == "INT8") return 1;
  if (dt == "UINT16" || dt == "INT16" || dt == "FP16") return 2;
  if (dt == "UINT32" || dt == "INT32" || dt == "FP32") return 4;
  if (dt == "UINT64" || dt == "INT64" || dt == "FP64") return 8;
  return 0;
}

absl::StatusOr<ModelMetadata> ParseModelMetadata(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("model metadata is not a JSON object");
  }
  ModelMetadata m;
  if (j.contains("name") && j["name"].is_string()) m.name = j["name"].get<std::string>();
  if (j.contains("platform") && j["platform"].is_string()) {
    m.platform = j["platform"].get<std::string>();
  }
  if (j.contains("versions") && j["versions"].is_array()) {
    for (const json& v : j["versions"]) {
      if (v.is_string()) m.versions.push_back(v.get<std::string>());
    }
  }
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty()) {
    return absl::InvalidArgumentError("model metadata has no inputs");
  }
  for (const json& t : j["inputs"]) {
    auto tensor = ParseTensor(t, "input");
    if (!tensor.ok()) return tensor.status();
    m.inputs.push_back(std::move(*tensor));
  }
  if (j.contains("outputs") && j["outputs"].is_array()) {
    for (const json& t : j["outputs"]) {
      auto tensor = ParseTensor(t, "output");
      if (!tensor.ok()) return tensor.status();
      m.outputs.push_back(std::move(*tensor));
    }
  }
  return m;
}

absl::StatusOr<V2Workload> BuildV2Workload(const ModelMetadata& metadata, const Url& url,
                                           const V2WorkloadOptions& o) {
  if (o.batch_size < 1) return absl::InvalidArgumentError("batch size must be >= 1");
  V2Workload w;
  w.batched = true;
  for (const TensorMetadata& in : metadata.inputs) {
    if (in.shape.empty() || in.shape[0] != -1) w.batched = false;
  }
  if (!w.batched && o.batch_size != 1) {
    return absl::InvalidArgumentError(
        Cat("--batch-size ", o.batch_size, ": model ", o.model,
            " does not batch (its inputs' shapes do not start with -1)"));
  }
  for (const auto& [name, dims] : o.shapes) {
    bool found = false;
    for (const TensorMetadata& in : metadata.inputs) found = found || in.name == name;
    if (!found) return absl::InvalidArgumentError(Cat("--shape names unknown input '", name, "'"));
  }
  std::vector<ResolvedInput> inputs;
  for (const TensorMetadata& in : metadata.inputs) {
    ResolvedInput r{in, {}};
    r.item_dims.assign(in.shape.begin() + (w.batched ? 1 : 0), in.shape.end());
    auto given = o.shapes.find(in.name);
    if (given != o.shapes.end()) {
      if (given->second.size() != r.item_dims.size()) {
        return absl::InvalidArgumentError(Cat("--shape ", in.name, ": ", given->second.size(),
                                              " dims, but the model's ",
                                              w.batched ? "per-item shape " : "shape ",
                                              ShapeText(r.item_dims), " has ", r.item_dims.size()));
      }
      for (size_t i = 0; i < r.item_dims.size(); ++i) {
        if (r.item_dims[i] >= 0 && r.item_dims[i] != given->second[i]) {
          return absl::InvalidArgumentError(
              Cat("--shape ", in.name, ": dim ", i, " is fixed at ", r.item_dims[i]));
        }
        if (given->second[i] < 0) return absl::InvalidArgumentError("--shape dims must be >= 0");
      }
      r.item_dims = given->second;
    }
    inputs.push_back(std::move(r));
  }
  for (const TensorMetadata& out : metadata.outputs) {
    V2Workload::ExpectedOutput e{out.name, out.datatype, out.shape};
    if (w.batched && !e.shape.empty() && e.shape[0] == -1) e.shape[0] = o.batch_size;
    w.outputs.push_back(std::move(e));
  }

  std::vector<std::vector<InputValues>> entries;
  if (o.data == V2WorkloadOptions::Data::kFile) {
    json doc = json::parse(o.input_data_json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("data") ||
        !doc["data"].is_array() || doc["data"].empty()) {
      return absl::InvalidArgumentError(
          "--input-data: want JSON {\"data\": [{\"INPUT\": [...]}, ...]}");
    }
    size_t index = 0;
    for (const json& entry : doc["data"]) {
      if (!entry.is_object()) {
        return absl::InvalidArgumentError(Cat("--input-data entry ", index, " is not an object"));
      }
      std::vector<InputValues> values;
      for (ResolvedInput& in : inputs) {
        if (!entry.contains(in.meta.name)) {
          return absl::InvalidArgumentError(
              Cat("--input-data entry ", index, " lacks input ", in.meta.name));
        }
        InputValues v;
        absl::Status st = FillFromJson(entry[in.meta.name], in, o, w.batched, index, &v);
        if (!st.ok()) return st;
        values.push_back(std::move(v));
      }
      entries.push_back(std::move(values));
      ++index;
    }
  } else {
    std::mt19937_64 rng(o.seed);
    std::vector<InputValues> values;
    for (const ResolvedInput& in : inputs) {
      for (int64_t d : in.item_dims) {
        if (d < 0) {
          return absl::InvalidArgumentError(Cat("input ", in.meta.name, " has a variable dim ",
                                                ShapeText(in.meta.shape), ": give --shape ",
                                                in.meta.name, ":d1,d2,..."));
        }
      }
      InputValues v;
      FillGenerated(in, o, w.batched, rng, &v);
      values.push_back(std::move(v));
    }
    entries.push_back(std::move(values));
  }
  for (const auto& values : entries) {
    if (o.grpc == GrpcContents::kNone) {
      w.requests.push_back(SerializeInfer(values, w.outputs, url, o));
      continue;
    }
    auto message = SerializeGrpcInfer(values, w.outputs, o);
    if (!message.ok()) return message.status();
    w.requests.push_back(std::move(*message));
  }
  for (const InputValues& v : entries[0]) {
    Append(&w.description, w.description.empty() ? "" : ", ", v.name, " ", v.datatype, " ",
           ShapeText(v.shape));
  }
  if (entries.size() > 1) Append(&w.description, " (", entries.size(), " data entries)");
  return w;
}

std::string V2ResponseChecker::Check(const HttpResponse& response, size_t) const {
  if (response.status != 200) return Cat("http_", response.status);
  size_t json_len = response.body.size();
  if (response.inference_header_length >= 0) {
    if (static_cast<size_t>(response.inference_header_length) > response.body.size()) {
      return "bad_response: Inference-Header-Content-Length beyond body";
    }
    json_len = static_cast<size_t>(response.inference_header_length);
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(response.body.data(), json_len).get(doc) != simdjson::SUCCESS) {
    return "bad_response: not JSON";
  }
  std::string_view model_name;
  if (doc["model_name"].get(model_name) != simdjson::SUCCESS) return "bad_response: no model_name";
  if (model_name != model_) return "bad_response: wrong model_name";
  simdjson::dom::array outputs;
  if (doc["outputs"].get(outputs) != simdjson::SUCCESS) return "bad_response: no outputs";
  size_t binary_total = 0;
  for (const V2Workload::ExpectedOutput& want : outputs_) {
    bool found = false;
    for (simdjson::dom::element out : outputs) {
      std::string_view name;
      if (out["name"].get(name) != simdjson::SUCCESS || name != want.name) continue;
      found = true;
      simdjson::dom::array shape;
      if (out["shape"].get(shape) != simdjson::SUCCESS) {
        return Cat("bad_response: no shape of ", want.name);
      }
      std::vector<int64_t> got;
      for (simdjson::dom::element d : shape) {
        int64_t v;
        if (d.get(v) != simdjson::SUCCESS) return Cat("bad_response: bad shape of ", want.name);
        got.push_back(v);
      }
      if (got.size() != want.shape.size()) return Cat("bad_response: wrong shape of ", want.name);
      for (size_t i = 0; i < got.size(); ++i) {
        if (want.shape[i] >= 0 && got[i] != want.shape[i]) {
          return Cat("bad_response: wrong shape of ", want.name);
        }
      }
      const int64_t elements = Elements(got);
      uint64_t binary_size;
      if (out["parameters"]["binary_data_size"].get(binary_size) == simdjson::SUCCESS) {
        const int size = DatatypeSize(want.datatype);
        if (size > 0 && binary_size != static_cast<uint64_t>(elements * size)) {
          return Cat("bad_response: wrong data size of ", want.name);
        }
        binary_total += binary_size;
      } else {
        simdjson::dom::array data;
        if (out["data"].get(data) != simdjson::SUCCESS) {
          return Cat("bad_response: no data of ", want.name);
        }
        if (static_cast<int64_t>(data.size()) != elements) {
          return Cat("bad_response: wrong data size of ", want.name);
        }
      }
      break;
    }
    if (!found) return Cat("bad_response: missing output ", want.name);
  }
  if (response.inference_header_length >= 0 && json_len + binary_total > response.body.size()) {
    return "bad_response: binary data shorter than declared";
  }
  return "";
}

}  // namespace tide::loadgen
