// libFuzzer target: HorizontalPodAutoscaler YAML (autoscaler/hpa_spec.h), as
// `tide hpa` and `tide tune` read it from a user's file: YAML to JSON, the
// spec from JSON, validation, defaulting. Any text must give specs or
// InvalidArgument with a message, never a crash; defaulting a spec must
// leave it with minReplicas set and at least one metric, and must not add
// errors of its own beyond those of the spec as written.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "autoscaler/hpa_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto specs = tide::autoscaler::HpaSpecsFromYaml(text);
  if (!specs.ok()) {
    if (!absl::IsInvalidArgument(specs.status()) || specs.status().message().empty()) {
      __builtin_trap();
    }
    return 0;
  }
  for (tide::autoscaler::HpaSpec& spec : *specs) {
    for (bool whole : {false, true}) {
      tide::autoscaler::ValidationOptions options;
      options.require_scale_target_ref = whole;
      options.hpa_scale_to_zero = whole;
      for (const auto& e : tide::autoscaler::Validate(spec, options)) {
        if (e.field.empty() || e.message.empty()) __builtin_trap();
      }
    }
    for (const auto& m : spec.metrics) (void)m.Describe();
    tide::autoscaler::ApplyDefaults(&spec);
    if (!spec.min_replicas || spec.metrics.empty()) __builtin_trap();
    if (spec.behavior && (!spec.behavior->scale_up || !spec.behavior->scale_down)) {
      __builtin_trap();
    }
    (void)tide::autoscaler::Validate(spec, {});
  }
  return 0;
}
