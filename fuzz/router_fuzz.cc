// libFuzzer target: V2 path routing and percent-decoding. A routed model name
// must never contain a path separator that the name check lets through.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/model_repository.h"
#include "frontends/http/router.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path(reinterpret_cast<const char*>(data), size);
  tide::http::Route r = tide::http::MatchRoute(path);
  if (!r.model.empty() && tide::core::ValidateModelName(r.model).ok()) {
    if (r.model.find('/') != std::string::npos || r.model == "." || r.model == "..")
      __builtin_trap();
  }
  return 0;
}
