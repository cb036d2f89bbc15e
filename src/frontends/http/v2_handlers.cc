#include "frontends/http/v2_handlers.h"

#include <zlib.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status_mapping.h"
#include "core/model_repository.h"
#include "frontends/http/response_compression.h"
#include "frontends/http/router.h"
#include "frontends/http/v2_codec.h"

namespace tide::http {
namespace {

using common::JsonEscape;

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string TensorsJson(const std::vector<core::TensorMetadata>& tensors) {
  std::string out = "[";
  for (size_t i = 0; i < tensors.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "{\"name\":\"", JsonEscape(tensors[i].name),
                    "\",\"datatype\":\"", core::V2Name(tensors[i].datatype),
                    "\",\"shape\":", core::ShapeToString(tensors[i].shape), "}");
  }
  return out + "]";
}

std::string Duration(uint64_t count, uint64_t ns) {
  return absl::StrCat("{\"count\":", count, ",\"ns\":", ns, "}");
}

// Triton's batch_stats: one entry per executed batch size, ascending.
std::string BatchStatsJson(const std::vector<core::BatchStatistics>& batches) {
  std::string out = "[";
  for (size_t i = 0; i < batches.size(); ++i) {
    const core::BatchStatistics& b = batches[i];
    absl::StrAppend(&out, i ? "," : "", "{\"batch_size\":", b.batch_size,
                    ",\"compute_input\":", Duration(b.compute_input_count, b.compute_input_ns),
                    ",\"compute_infer\":", Duration(b.compute_infer_count, b.compute_infer_ns),
                    ",\"compute_output\":", Duration(b.compute_output_count, b.compute_output_ns),
                    "}");
  }
  return out + "]";
}

// Gzips `r` when the client accepts it and it is large enough
// (response_compression.h), then sends it.
void Answer(const std::string& accept_encoding, const Responder& respond, HttpResponse r) {
  CompressResponse(accept_encoding, &r);
  respond(std::move(r));
}

}  // namespace

absl::StatusOr<std::string> DecodeContentEncoding(const std::string& encoding, std::string body,
                                                  size_t max_bytes) {
  std::string enc = absl::AsciiStrToLower(absl::StripAsciiWhitespace(encoding));
  if (enc.empty() || enc == "identity") return body;
  int window_bits;
  if (enc == "gzip" || enc == "x-gzip") {
    window_bits = 15 + 16;
  } else if (enc == "deflate") {
    window_bits = 15;  // RFC 9110: zlib format; raw deflate is retried below
  } else {
    return absl::UnimplementedError(absl::StrCat("unsupported Content-Encoding '", encoding,
                                                 "' (supported: gzip, deflate, identity)"));
  }
  auto inflate_all = [&](int bits) -> absl::StatusOr<std::string> {
    z_stream z{};
    if (inflateInit2(&z, bits) != Z_OK) return absl::InternalError("cannot start zlib");
    z.next_in = reinterpret_cast<Bytef*>(body.data());
    z.avail_in = static_cast<uInt>(body.size());
    std::string out;
    char buf[16384];
    int rc = Z_OK;
    for (;;) {
      if (rc == Z_STREAM_END) {
        // RFC 1952: a gzip body may be several members, one after another
        // (what `cat a.gz b.gz` makes), and gunzip reads them all.
        if (z.avail_in == 0 || bits != 15 + 16) break;
        inflateReset(&z);
      }
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof(buf);
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        std::string why = z.msg ? z.msg : (rc == Z_BUF_ERROR ? "truncated stream" : "corrupt");
        inflateEnd(&z);
        return absl::InvalidArgumentError(
            absl::StrCat("request body is not valid ", enc, " data: ", why));
      }
      size_t got = sizeof(buf) - z.avail_out;
      if (out.size() + got > max_bytes) {
        inflateEnd(&z);
        return absl::OutOfRangeError(
            absl::StrCat("decompressed request body is over the limit of ", max_bytes, " bytes"));
      }
      out.append(buf, got);
    }
    bool trailing = z.avail_in != 0;
    inflateEnd(&z);
    if (trailing) {
      return absl::InvalidArgumentError(
          absl::StrCat("request body has bytes after the end of its ", enc, " stream"));
    }
    return out;
  };
  auto out = inflate_all(window_bits);
  if (!out.ok() && enc == "deflate" && absl::IsInvalidArgument(out.status())) {
    auto raw = inflate_all(-15);
    if (raw.ok() || absl::IsOutOfRange(raw.status())) return raw;
  }
  return out;
}

HttpResponse StatusResponse(const absl::Status& status) {
  HttpResponse r = ErrorResponse(common::HttpStatusFor(status), std::string(status.message()),
                                 common::RetryAfterSecondsFor(status).value_or(0));
  // RFC 9110 11.6.1: a 401 names the scheme it wants.
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tide\"");
  return r;
}

// model_repository: the index, load and unload (load and unload need
// --model-control-mode explicit).
std::vector<std::string> V2Handlers::Extensions() {
  return {"binary_tensor_data", "statistics", "model_repository", "model_configuration"};
}

void V2Handlers::Handle(HttpRequest request, Responder respond) {
  // Every answer is gzipped when the client accepts it and it is large
  // enough (response_compression.h), binary tensor responses included:
  // answers given here go through `answer`; Control and Infer, which answer
  // later, compress in their own callbacks (no wrapping responder, which
  // would cost an allocation per inference).
  const std::string& accept = request.Header("accept-encoding");
  auto answer = [&](HttpResponse r) { Answer(accept, respond, std::move(r)); };
  Route route = MatchRoute(request.path);
  if (route.kind == RouteKind::kBadRequest) {
    return answer(
        ErrorResponse(400, absl::StrCat("malformed percent-escape in path '", request.path, "'")));
  }
  if (route.kind == RouteKind::kNotFound) {
    return answer(
        ErrorResponse(404, absl::StrCat("no such endpoint: ", request.method, " ", request.path)));
  }
  if (!route.Allows(request.method)) {
    HttpResponse r =
        ErrorResponse(405, absl::StrCat("method ", request.method, " is not allowed on ",
                                        request.path, " (allowed: ", route.methods, ")"));
    r.headers.emplace_back("Allow", route.methods);
    return answer(std::move(r));
  }
  // Model control checks the token before it looks at the name, and counts
  // each refusal.
  if (route.kind == RouteKind::kRepositoryLoad || route.kind == RouteKind::kRepositoryUnload) {
    return Control(request, route.kind, route.model,
                   [respond = std::move(respond), accept](HttpResponse r) {
                     Answer(accept, respond, std::move(r));
                   });
  }
  if (!route.model.empty()) {
    if (absl::Status s = core::ValidateModelName(route.model); !s.ok()) {
      return answer(ErrorResponse(400, std::string(s.message())));
    }
  }
  core::InferenceService& svc = *options_.service;
  switch (route.kind) {
    case RouteKind::kHealthLive:
      return answer(Json(200, "{\"live\":true}"));
    case RouteKind::kHealthReady: {
      bool ready = svc.IsReady();
      return answer(
          Json(ready ? 200 : 503, absl::StrCat("{\"ready\":", ready ? "true" : "false", "}")));
    }
    case RouteKind::kServerMetadata: {
      std::string ext;
      for (const std::string& e : Extensions())
        absl::StrAppend(&ext, ext.empty() ? "" : ",", "\"", e, "\"");
      return answer(
          Json(200, absl::StrCat("{\"name\":\"", options_.server_name, "\",\"version\":\"",
                                 options_.server_version, "\",\"extensions\":[", ext, "]}")));
    }
    case RouteKind::kModelMetadata:
      return answer(ModelMetadata(route.model, route.version));
    case RouteKind::kModelReady: {
      auto r = svc.ModelReady(route.model, route.version);
      if (!r.ok()) return answer(StatusResponse(r.status()));
      bool ready = *r;
      std::string reason;  // why not: the repository index's reason
      for (const core::ModelState& m : ready ? std::vector<core::ModelState>{} : svc.Index()) {
        if (m.name != route.model || m.state == "READY") continue;
        if (m.version.empty() || route.version.empty() || m.version == route.version) {
          reason = absl::StrCat(",\"reason\":\"", JsonEscape(m.reason), "\"");
          break;
        }
      }
      return answer(Json(ready ? 200 : 503,
                         absl::StrCat("{\"name\":\"", JsonEscape(route.model),
                                      "\",\"ready\":", ready ? "true" : "false", reason, "}")));
    }
    case RouteKind::kModelStats:
      return answer(Stats(route.model, route.version));
    case RouteKind::kModelConfig:
      return answer(Config(route.model, route.version));
    case RouteKind::kAllStats:
      return answer(Stats("", ""));
    case RouteKind::kRepositoryIndex:
      return answer(RepositoryIndex(request));
    case RouteKind::kModelInfer:
      return Infer(std::move(request), route.model, route.version, std::move(respond));
    case RouteKind::kRepositoryLoad:  // answered above
    case RouteKind::kRepositoryUnload:
    case RouteKind::kNotFound:
    case RouteKind::kBadRequest:
      break;
  }
  answer(ErrorResponse(404, "no such endpoint"));
}

void V2Handlers::Infer(HttpRequest request, const std::string& model, const std::string& version,
                       Responder respond) {
  const std::string& accept = request.Header("accept-encoding");
  auto answer = [&](HttpResponse r) { Answer(accept, respond, std::move(r)); };
  if (const std::string& ce = request.Header("content-encoding"); !ce.empty()) {
    auto body = DecodeContentEncoding(ce, std::move(request.body), options_.max_body_bytes);
    if (!body.ok()) {
      options_.service->CountRejected(model, version, body.status());
      int code = absl::IsOutOfRange(body.status())      ? 413
                 : absl::IsUnimplemented(body.status()) ? 415
                                                        : 400;
      return answer(ErrorResponse(code, std::string(body.status().message())));
    }
    request.body = *std::move(body);
  }
  std::optional<size_t> header_length;
  const std::string& hl = request.Header("inference-header-content-length");
  if (!hl.empty()) {
    auto n = ParseHeaderLength(hl, request.body.size());
    if (!n.ok()) return answer(StatusResponse(n.status()));
    header_length = *n;
  }
  auto decoded = DecodeInferRequest(std::move(request.body), header_length);
  if (!decoded.ok()) {
    options_.service->CountRejected(model, version, decoded.status());
    return answer(StatusResponse(decoded.status()));
  }
  decoded->model_name = model;
  decoded->model_version = version;
  options_.service->Infer(*std::move(decoded), [respond = std::move(respond),
                                                accept](absl::StatusOr<core::InferResponse> r) {
    HttpResponse resp;
    if (r.ok()) {
      if (absl::Status s = CheckJsonEncodable(*r); !s.ok()) r = s;
    }
    if (!r.ok()) {
      resp = StatusResponse(r.status());
    } else {
      EncodedResponse enc = EncodeInferResponse(*r);
      resp.body = std::move(enc.body);
      if (enc.header_length) {
        resp.content_type = "application/octet-stream";
        resp.headers.emplace_back("Inference-Header-Content-Length",
                                  absl::StrCat(*enc.header_length));
      }
    }
    Answer(accept, respond, std::move(resp));
  });
}

HttpResponse V2Handlers::ModelMetadata(const std::string& model, const std::string& version) {
  auto md = options_.service->Metadata(model, version);
  if (!md.ok()) return StatusResponse(md.status());
  std::vector<std::string> versions;
  for (const std::string& v : md->versions) versions.push_back(absl::StrCat("\"", v, "\""));
  const core::LoadedModel& lm = *md->model;
  return Json(200, absl::StrCat("{\"name\":\"", JsonEscape(md->name), "\",\"versions\":[",
                                absl::StrJoin(versions, ","), "],\"platform\":\"",
                                JsonEscape(md->platform), "\",\"inputs\":", TensorsJson(md->inputs),
                                ",\"outputs\":", TensorsJson(md->outputs),
                                ",\"parameters\":{\"max_batch_size\":", lm.spec.max_batch_size,
                                ",\"instance_count\":", lm.spec.instance_count,
                                ",\"memory_bytes\":", lm.memory_bytes, "}}"));
}

HttpResponse V2Handlers::Config(const std::string& model, const std::string& version) {
  auto m = options_.service->FindModel(model, version);
  if (!m.ok()) return StatusResponse(m.status());
  return Json(200, core::ModelConfigJson((*m)->spec));
}

HttpResponse V2Handlers::Stats(const std::string& model, const std::string& version) {
  std::vector<std::shared_ptr<core::LoadedModel>> models;
  if (model.empty()) {
    models = options_.service->Models();
  } else if (version.empty()) {
    for (auto& m : options_.service->Models()) {
      if (m->spec.name == model) models.push_back(m);
    }
    if (models.empty()) {
      auto m = options_.service->FindModel(model, version);
      return StatusResponse(m.ok() ? absl::NotFoundError("no statistics") : m.status());
    }
  } else {
    auto m = options_.service->FindModel(model, version);
    if (!m.ok()) return StatusResponse(m.status());
    models.push_back(*m);
  }
  std::string out = "{\"model_stats\":[";
  for (size_t i = 0; i < models.size(); ++i) {
    const core::LoadedModel& m = *models[i];
    core::ModelStatistics s = m.observer ? m.observer->Snapshot() : core::ModelStatistics{};
    absl::StrAppend(
        &out, i ? "," : "", "{\"name\":\"", JsonEscape(m.spec.name), "\",\"version\":\"", m.version,
        "\",\"last_inference\":", s.last_inference_ms, ",\"inference_count\":", s.inference_count,
        ",\"execution_count\":", s.execution_count, ",\"memory_bytes\":", m.memory_bytes,
        ",\"inference_stats\":{\"success\":", Duration(s.success_count, s.success_ns),
        ",\"fail\":", Duration(s.fail_count, s.fail_ns),
        ",\"queue\":", Duration(s.queue_count, s.queue_ns),
        ",\"compute_input\":", Duration(s.compute_input_count, s.compute_input_ns),
        ",\"compute_infer\":", Duration(s.compute_infer_count, s.compute_infer_ns),
        ",\"compute_output\":", Duration(s.compute_output_count, s.compute_output_ns),
        // tide has no response cache: Triton reports zeros then.
        ",\"cache_hit\":", Duration(0, 0), ",\"cache_miss\":", Duration(0, 0),
        "},\"batch_stats\":", BatchStatsJson(s.batch_stats), "}");
  }
  return Json(200, out + "]}");
}

void V2Handlers::Control(const HttpRequest& request, RouteKind kind, const std::string& model,
                         Responder respond) {
  auto done = [respond = std::move(respond)](absl::Status s) {
    if (!s.ok()) return respond(StatusResponse(s));
    HttpResponse r;  // Triton answers a load or unload with 200 and no body
    r.content_type = "text/plain";
    respond(std::move(r));
  };
  if (options_.control == nullptr) {
    return done(absl::FailedPreconditionError(
        "explicit model load / unload is not allowed: model control is off"));
  }
  const std::string& auth = request.Header("authorization");
  if (kind == RouteKind::kRepositoryUnload) return options_.control->Unload(model, auth, done);
  // Triton's load body: {} or {"parameters": {...}}; tide takes no parameters.
  std::string body;
  for (char c : request.body) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) body.push_back(c);
  }
  bool with_parameters = !body.empty() && body != "{}" && body != "{\"parameters\":{}}";
  options_.control->Load(model, auth, with_parameters, done);
}

HttpResponse V2Handlers::RepositoryIndex(const HttpRequest& request) {
  std::vector<core::ModelState> index;
  if (options_.control != nullptr) {
    auto i = options_.control->Index(request.Header("authorization"));
    if (!i.ok()) return StatusResponse(i.status());
    index = *std::move(i);
  } else {
    index = options_.service->Index();
  }
  std::string out = "[";
  bool first = true;
  for (const core::ModelState& s : index) {
    absl::StrAppend(&out, first ? "" : ",", "{\"name\":\"", JsonEscape(s.name), "\"");
    if (!s.version.empty()) absl::StrAppend(&out, ",\"version\":\"", s.version, "\"");
    absl::StrAppend(&out, ",\"state\":\"", s.state, "\"");
    if (!s.reason.empty()) absl::StrAppend(&out, ",\"reason\":\"", JsonEscape(s.reason), "\"");
    out += "}";
    first = false;
  }
  return Json(200, out + "]");
}

}  // namespace tide::http
