#pragma once

// core::DataType ⇄ libtorch's c10::ScalarType. Internal to the TorchScript
// backend: it includes only c10's small ScalarType header, never
// <torch/script.h>, so its unit test stays cheap to compile.

#include <optional>

#include <c10/core/ScalarType.h>

#include "core/datatype.h"

namespace tide::backends::torchscript {

// nullopt for the V2 types libtorch 1.13 has no tensor type for (UINT16,
// UINT32, UINT64) and for BYTES.
std::optional<c10::ScalarType> ToTorchType(core::DataType type);

// nullopt for torch types with no V2 equivalent (complex, bfloat16, qint...).
std::optional<core::DataType> FromTorchType(c10::ScalarType type);

}  // namespace tide::backends::torchscript
