#pragma once

// `tide hpa decide` and `tide hpa validate`: the command logic behind the
// flags main.cc defines. Streams are injected so tests can drive them.

#include <iosfwd>
#include <string>
#include <vector>

namespace tide::app {

struct HpaDecideOptions {
  // Snapshot files (docs/hpa-semantics.md §13); "-" reads stdin.
  std::vector<std::string> files;
  bool compact = false;  // one line of JSON instead of indented output
};

// Prints a JSON array with one decision per snapshot, in input order.
// Returns 0 (a decision that is an error is still a decision), or 2 when an
// input cannot be read, is not JSON, or does not follow the schema; the
// message on `err` names the file and the JSON path.
int RunHpaDecide(const HpaDecideOptions& options, std::istream& in, std::ostream& out,
                 std::ostream& err);

struct HpaValidateOptions {
  std::string file;                // a YAML (or JSON) manifest; "-" reads stdin
  bool hpa_scale_to_zero = false;  // the HPAScaleToZero gate: allows minReplicas: 0
};

// Validates every HorizontalPodAutoscaler in the file as the API server would.
// Returns 0 and prints one summary line per HPA when all are valid; 1 and the
// field errors when any is invalid (or the manifest cannot be parsed); 2 when
// the file cannot be read.
int RunHpaValidate(const HpaValidateOptions& options, std::istream& in, std::ostream& out,
                   std::ostream& err);

}  // namespace tide::app
