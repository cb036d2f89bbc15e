#include "core/model_config.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "core/tensor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace tide::core {
namespace {

namespace pb = google::protobuf;

// Collects TextFormat's errors (fatal) and warnings (unknown fields).
class Collector final : public pb::io::ErrorCollector {
 public:
  explicit Collector(std::string_view path) : path_(path) {}
  void AddError(int line, int column, const std::string& message) override {
    if (error_.empty()) error_ = absl::StrCat(path_, ":", line + 1, ":", column + 1, ": ", message);
  }
  void AddWarning(int line, int column, const std::string& message) override {
    warnings_.push_back(absl::StrCat(path_, ":", line + 1, ":", column + 1, ": ", message,
                                     " (tide ignores this field)"));
  }
  const std::string& error() const { return error_; }
  std::vector<std::string>& warnings() { return warnings_; }

 private:
  std::string path_;
  std::string error_;
  std::vector<std::string> warnings_;
};

// Builds "path:line:col: field 'x': message" from the parse tree's locations.
class Locator {
 public:
  Locator(std::string_view path, const pb::TextFormat::ParseInfoTree* tree)
      : path_(path), tree_(tree) {}

  absl::Status Error(const pb::Message& msg, std::string_view field_name, int index,
                     const pb::TextFormat::ParseInfoTree* tree, std::string_view field_path,
                     std::string_view message) const {
    std::string where(path_);
    const pb::FieldDescriptor* fd = msg.GetDescriptor()->FindFieldByName(std::string(field_name));
    if (fd && tree) {
      pb::TextFormat::ParseLocation loc = tree->GetLocation(fd, fd->is_repeated() ? index : -1);
      // A list written as `f: [a, b]` records one location for the whole list.
      if (loc.line < 0 && fd->is_repeated() && index > 0) loc = tree->GetLocation(fd, 0);
      if (loc.line >= 0) where = absl::StrCat(path_, ":", loc.line + 1, ":", loc.column + 1);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": field '", std::string(field_path), "': ", std::string(message)));
  }
  const pb::TextFormat::ParseInfoTree* root() const { return tree_; }

 private:
  std::string path_;
  const pb::TextFormat::ParseInfoTree* tree_;
};

template <typename TensorProto>
absl::Status ConvertTensors(const pb::RepeatedPtrField<TensorProto>& protos, const char* kind,
                            const config::ModelConfig& cfg, const Locator& loc,
                            std::vector<TensorSpec>* out) {
  std::set<std::string> seen;
  for (int i = 0; i < protos.size(); ++i) {
    const TensorProto& p = protos[i];
    const pb::TextFormat::ParseInfoTree* sub =
        loc.root() ? loc.root()->GetTreeForNested(cfg.GetDescriptor()->FindFieldByName(kind), i)
                   : nullptr;
    std::string fpath = absl::StrCat(kind, "[", i, "]");
    if (p.name().empty()) {
      return loc.Error(cfg, kind, i, loc.root(), absl::StrCat(fpath, ".name"), "must not be empty");
    }
    if (!seen.insert(p.name()).second) {
      return loc.Error(cfg, kind, i, loc.root(), absl::StrCat(fpath, ".name"),
                       absl::StrCat("duplicate ", kind, " name '", p.name(), "'"));
    }
    std::string tname = config::DataType_Name(p.data_type());
    auto dt = DataTypeFromConfig(tname);
    if (!dt) {
      return loc.Error(p, "data_type", -1, sub, absl::StrCat(fpath, ".data_type"),
                       absl::StrCat(tname,
                                    " is not supported (use TYPE_BOOL, TYPE_INT8..64, "
                                    "TYPE_UINT8..64, TYPE_FP16/32/64 or TYPE_STRING)"));
    }
    if (p.has_reshape()) {
      return loc.Error(p, "reshape", -1, sub, absl::StrCat(fpath, ".reshape"),
                       "reshape is not supported by tide; give dims in the model's own shape");
    }
    for (int d = 0; d < p.dims_size(); ++d) {
      if (p.dims(d) == 0 || p.dims(d) < -1) {
        return loc.Error(p, "dims", d, sub, absl::StrCat(fpath, ".dims[", d, "]"),
                         absl::StrCat(p.dims(d),
                                      " is not a valid dim (use a size >= 1, or -1 for "
                                      "a variable size)"));
      }
    }
    // The byte size at max_batch_size, variable dims counted as 1, must fit in
    // int64: everything that sizes a buffer from these dims relies on it.
    std::vector<int64_t> shape;
    if (cfg.max_batch_size() > 0) shape.push_back(cfg.max_batch_size());
    for (int64_t d : p.dims()) shape.push_back(d < 0 ? 1 : d);
    const int64_t elements = ShapeElementCount(shape);
    const int64_t element_size =
        *dt == DataType::kBytes ? 4 : static_cast<int64_t>(ElementSize(*dt));  // BYTES: its length
    if (elements < 0 || elements > std::numeric_limits<int64_t>::max() / element_size) {
      std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
      return loc.Error(p, "dims", 0, sub, absl::StrCat(fpath, ".dims"),
                       absl::StrCat(ShapeToString(dims),
                                    cfg.max_batch_size() > 0 ? absl::StrCat(" with max_batch_size ",
                                                                            cfg.max_batch_size())
                                                             : "",
                                    " is too large (the tensor's byte size overflows a 64-bit "
                                    "integer)"));
    }
    TensorSpec spec;
    spec.name = p.name();
    spec.datatype = *dt;
    spec.dims.assign(p.dims().begin(), p.dims().end());
    if constexpr (std::is_same_v<TensorProto, config::ModelInput>) spec.optional = p.optional();
    out->push_back(std::move(spec));
  }
  return absl::OkStatus();
}

}  // namespace

const TensorSpec* ModelSpec::FindInput(std::string_view n) const {
  for (const TensorSpec& t : inputs) {
    if (t.name == n) return &t;
  }
  return nullptr;
}

const TensorSpec* ModelSpec::FindOutput(std::string_view n) const {
  for (const TensorSpec& t : outputs) {
    if (t.name == n) return &t;
  }
  return nullptr;
}

absl::StatusOr<ModelSpec> ParseModelConfig(std::string_view text, std::string_view path_in,
                                           std::string_view dir_in) {
  // Debian's Abseil has its own string_view type: keep std::strings for StrCat.
  const std::string path(path_in), dir_name(dir_in);
  ModelSpec spec;
  spec.path = std::string(path);
  Collector collector(path);
  pb::TextFormat::ParseInfoTree tree;
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.AllowUnknownField(true);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &spec.proto)) {
    return absl::InvalidArgumentError(
        collector.error().empty() ? absl::StrCat(path, ": could not parse") : collector.error());
  }
  spec.warnings = std::move(collector.warnings());
  const config::ModelConfig& cfg = spec.proto;
  Locator loc(path, &tree);

  spec.name = cfg.name().empty() ? std::string(dir_name) : cfg.name();
  if (spec.name != dir_name) {
    return loc.Error(
        cfg, "name", -1, &tree, "name",
        absl::StrCat("'", cfg.name(), "' must match the model's folder name '", dir_name, "'"));
  }
  // Backend: Triton's platform names map onto backends.
  spec.platform = cfg.platform();
  std::string backend = cfg.backend();
  if (backend.empty()) {
    if (cfg.platform() == "pytorch_libtorch")
      backend = "pytorch";
    else if (!cfg.platform().empty())
      backend = cfg.platform();
  }
  if (backend.empty()) {
    return loc.Error(cfg, "backend", -1, &tree, "backend",
                     "neither 'backend' nor 'platform' is set (e.g. backend: \"simulated\" or "
                     "platform: \"pytorch_libtorch\")");
  }
  spec.backend = backend;
  if (cfg.max_batch_size() < 0) {
    return loc.Error(cfg, "max_batch_size", -1, &tree, "max_batch_size",
                     absl::StrCat(cfg.max_batch_size(), " must be >= 0"));
  }
  spec.max_batch_size = cfg.max_batch_size();
  if (cfg.input_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": field 'input': the model declares no inputs"));
  }
  if (cfg.output_size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": field 'output': the model declares no outputs"));
  }
  if (auto s = ConvertTensors(cfg.input(), "input", cfg, loc, &spec.inputs); !s.ok()) return s;
  if (auto s = ConvertTensors(cfg.output(), "output", cfg, loc, &spec.outputs); !s.ok()) return s;

  spec.instance_count = 0;
  for (int i = 0; i < cfg.instance_group_size(); ++i) {
    const auto& g = cfg.instance_group(i);
    const auto* sub =
        tree.GetTreeForNested(cfg.GetDescriptor()->FindFieldByName("instance_group"), i);
    if (g.kind() == config::ModelInstanceGroup::KIND_GPU || g.gpus_size() > 0) {
      return loc.Error(g, "kind", -1, sub, absl::StrCat("instance_group[", i, "].kind"),
                       "KIND_GPU is not supported by this build (Debian's libtorch is CPU-only); "
                       "use KIND_CPU");
    }
    if (g.count() < 0 || g.count() > 64) {
      return loc.Error(g, "count", -1, sub, absl::StrCat("instance_group[", i, "].count"),
                       absl::StrCat(g.count(), " must be between 1 and 64"));
    }
    spec.instance_count += g.count() == 0 ? 1 : g.count();
  }
  if (spec.instance_count == 0) spec.instance_count = 1;

  if (cfg.has_dynamic_batching()) {
    const auto& db = cfg.dynamic_batching();
    const auto* sub =
        tree.GetTreeForNested(cfg.GetDescriptor()->FindFieldByName("dynamic_batching"), -1);
    spec.batching.dynamic = true;
    for (int i = 0; i < db.preferred_batch_size_size(); ++i) {
      int32_t p = db.preferred_batch_size(i);
      if (p < 1 || (spec.max_batch_size > 0 && p > spec.max_batch_size)) {
        return loc.Error(
            db, "preferred_batch_size", i, sub,
            absl::StrCat("dynamic_batching.preferred_batch_size[", i, "]"),
            absl::StrCat(p, " must be between 1 and max_batch_size (", spec.max_batch_size, ")"));
      }
      spec.batching.preferred_batch_sizes.push_back(p);
    }
    std::sort(spec.batching.preferred_batch_sizes.begin(),
              spec.batching.preferred_batch_sizes.end());
    if (db.max_queue_delay_microseconds() > 60'000'000) {
      return loc.Error(db, "max_queue_delay_microseconds", -1, sub,
                       "dynamic_batching.max_queue_delay_microseconds",
                       "must be at most 60000000 (one minute)");
    }
    spec.batching.max_queue_delay = absl::Microseconds(db.max_queue_delay_microseconds());
    const auto& qp = db.default_queue_policy();
    if (qp.timeout_action() == config::ModelQueuePolicy::DELAY) {
      return loc.Error(db, "default_queue_policy", -1, sub,
                       "dynamic_batching.default_queue_policy.timeout_action",
                       "DELAY is not supported; timed-out requests are rejected (REJECT)");
    }
    spec.batching.max_queue_size = qp.max_queue_size();
    spec.batching.default_timeout = absl::Microseconds(qp.default_timeout_microseconds());
    spec.batching.allow_timeout_override = qp.allow_timeout_override() ||
                                           !db.has_default_queue_policy() ||
                                           qp.default_timeout_microseconds() == 0;
    if (spec.max_batch_size == 0 && db.preferred_batch_size_size() > 0) {
      spec.warnings.push_back(absl::StrCat(
          path, ": dynamic_batching.preferred_batch_size has no effect with max_batch_size 0"));
    }
  }

  if (cfg.has_version_policy()) {
    const auto& vp = cfg.version_policy();
    if (vp.has_all()) {
      spec.version_policy.kind = VersionPolicy::Kind::kAll;
    } else if (vp.has_specific()) {
      spec.version_policy.kind = VersionPolicy::Kind::kSpecific;
      spec.version_policy.versions.assign(vp.specific().versions().begin(),
                                          vp.specific().versions().end());
      if (spec.version_policy.versions.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": field 'version_policy.specific.versions': list at least one version"));
      }
    } else if (vp.has_latest()) {
      spec.version_policy.num_versions = vp.latest().num_versions();
      if (spec.version_policy.num_versions == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": field 'version_policy.latest.num_versions': must be >= 1"));
      }
    }
  }
  for (int i = 0; i < cfg.model_warmup_size(); ++i) {
    const auto& w = cfg.model_warmup(i);
    if (w.count() > kMaxWarmupCount) {
      const auto* sub =
          tree.GetTreeForNested(cfg.GetDescriptor()->FindFieldByName("model_warmup"), i);
      return loc.Error(w, "count", -1, sub, absl::StrCat("model_warmup[", i, "].count"),
                       absl::StrCat(w.count(), " must be at most ", kMaxWarmupCount));
    }
  }
  for (const auto& [key, value] : cfg.parameters()) spec.parameters[key] = value.string_value();
  for (const auto& o : cfg.output()) {
    if (!o.label_filename().empty()) {
      spec.warnings.push_back(absl::StrCat(path, ": output '", o.name(),
                                           "' label_filename is ignored (no classification "
                                           "extension)"));
    }
  }
  return spec;
}

absl::StatusOr<ModelSpec> LoadModelConfig(const std::string& model_dir, std::string_view dir_name) {
  std::string path = model_dir + "/config.pbtxt";
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open (does the file exist?)"));
  // Reads at most one byte past the limit: a huge file is refused, not read.
  constexpr size_t kMaxConfigBytes = 1 << 20;
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": larger than 1 MiB"));
  }
  return ParseModelConfig(text, path, dir_name);
}

}  // namespace tide::core

namespace tide::core {
namespace {

namespace pb = google::protobuf;

void AppendJson(const pb::Message& m, std::string* out);

void AppendValue(const pb::Message& m, const pb::FieldDescriptor* f, int i, std::string* out) {
  const pb::Reflection* r = m.GetReflection();
  bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(out, rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out, rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out, rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(out, rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      absl::StrAppend(out, rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      absl::StrAppend(out, rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f));
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      absl::StrAppend(out,
                      (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f)) ? "true" : "false");
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      absl::StrAppend(out, "\"", (rep ? r->GetRepeatedEnum(m, f, i) : r->GetEnum(m, f))->name(),
                      "\"");
      break;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      absl::StrAppend(out, "\"",
                      common::JsonEscape(rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f)),
                      "\"");
      break;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      AppendJson(rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), out);
      break;
  }
}

// Protobuf's JSON mapping with proto field names and every scalar printed,
// except that 64-bit integers are numbers (as Triton prints dims) and map
// keys are sorted.
void AppendJson(const pb::Message& m, std::string* out) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  for (int k = 0; k < d->field_count(); ++k) {
    const pb::FieldDescriptor* f = d->field(k);
    bool message = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
    if (!f->is_repeated() && (message || f->containing_oneof()) && !r->HasField(m, f)) continue;
    absl::StrAppend(out, first ? "" : ",", "\"", f->name(), "\":");
    first = false;
    if (f->is_map()) {
      const pb::FieldDescriptor* key = f->message_type()->map_key();
      const pb::FieldDescriptor* value = f->message_type()->map_value();
      std::vector<std::pair<std::string, const pb::Message*>> entries;
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        const pb::Message& e = r->GetRepeatedMessage(m, f, i);
        std::string k;
        AppendValue(e, key, 0, &k);
        if (k.empty() || k[0] != '"') k = absl::StrCat("\"", k, "\"");
        entries.emplace_back(std::move(k), &e);
      }
      std::sort(entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out->push_back('{');
      for (size_t i = 0; i < entries.size(); ++i) {
        absl::StrAppend(out, i ? "," : "", entries[i].first, ":");
        AppendValue(*entries[i].second, value, 0, out);
      }
      out->push_back('}');
    } else if (f->is_repeated()) {
      out->push_back('[');
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (i) out->push_back(',');
        AppendValue(m, f, i, out);
      }
      out->push_back(']');
    } else {
      AppendValue(m, f, 0, out);
    }
  }
  out->push_back('}');
}

}  // namespace

std::string ModelConfigJson(const ModelSpec& spec) {
  config::ModelConfig c = spec.proto;
  c.set_name(spec.name);
  if (c.backend().empty()) c.set_backend(spec.backend);
  std::string out;
  AppendJson(c, &out);
  return out;
}

}  // namespace tide::core
