#pragma once

// The KServe V2 REST endpoints (plus Triton's statistics and binary tensor
// extensions) on top of the InferenceService. Translation only: decode, call
// the service, encode; every status code comes from common/status_mapping.

#include <string>
#include <vector>

#include "core/inference_service.h"
#include "core/model_control.h"
#include "frontends/http/http_types.h"
#include "frontends/http/router.h"

namespace tide::http {

class V2Handlers {
 public:
  struct Options {
    core::InferenceService* service = nullptr;  // not owned; outlives this
    std::string server_name = "tide";
    std::string server_version;
    // The most bytes a request body may decompress to (Content-Encoding gzip
    // or deflate); beyond it the request is answered 413.
    size_t max_body_bytes = 64 << 20;
    // The model control API (index, load, unload); not owned. Null: load and
    // unload are refused as with --model-control-mode none, uncounted.
    core::ModelControl* control = nullptr;
  };
  explicit V2Handlers(Options options) : options_(std::move(options)) {}

  // The server's extensions, exactly those implemented.
  static std::vector<std::string> Extensions();

  void Handle(HttpRequest request, Responder respond);

 private:
  void Infer(HttpRequest request, const std::string& model, const std::string& version,
             Responder respond);
  HttpResponse ModelMetadata(const std::string& model, const std::string& version);
  HttpResponse Config(const std::string& model, const std::string& version);
  HttpResponse Stats(const std::string& model, const std::string& version);
  HttpResponse RepositoryIndex(const HttpRequest& request);
  void Control(const HttpRequest& request, RouteKind kind, const std::string& model,
               Responder respond);

  Options options_;
};

// A request body decoded per its Content-Encoding ("", identity, gzip,
// deflate; zlib-wrapped or raw), at most `max_bytes` long: InvalidArgument for
// a corrupt stream, OutOfRange beyond `max_bytes`, Unimplemented for any
// other encoding.
absl::StatusOr<std::string> DecodeContentEncoding(const std::string& encoding, std::string body,
                                                  size_t max_bytes);

// The HTTP response for a failed status (JSON error, mapped code, Retry-After).
HttpResponse StatusResponse(const absl::Status& status);

}  // namespace tide::http
