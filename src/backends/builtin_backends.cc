#include "backends/backend.h"
#include "backends/simulated/simulated_backend.h"

namespace tide::backends {

void RegisterBuiltinBackends(BackendRegistry* registry) {
  registry->Register("simulated", LoadSimulatedModel);
}

}  // namespace tide::backends
