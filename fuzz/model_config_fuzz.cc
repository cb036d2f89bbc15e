// libFuzzer target: config.pbtxt parsing and validation on arbitrary text.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto spec = tide::core::ParseModelConfig(text, "fuzz/config.pbtxt", "m");
  if (spec.ok() && spec->name != "m") __builtin_trap();
  return 0;
}
