// The entry point of libtide_backend_pytorch.so, the TorchScript backend as a
// plugin: tide serve dlopens it the first time a model asks for backend
// "pytorch" (see backends/backend.h), so processes that never serve
// TorchScript never map libtorch.

#include "backends/backend.h"
#include "backends/torchscript/torchscript_backend.h"

extern "C" __attribute__((visibility("default"))) void TideRegisterBackend(
    tide::backends::BackendRegistry* registry) {
  registry->Register("pytorch", tide::backends::LoadTorchScriptModel);
}
