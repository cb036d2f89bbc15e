#pragma once

// loadgen's code uses common's string helpers (common/text.h) unqualified.

#include "common/text.h"

namespace tide::loadgen {

using common::Append;
using common::Cat;
using common::ContainsIgnoreCase;
using common::EqualsIgnoreCase;
using common::ParseDouble;
using common::ParseHex;
using common::ParseInt;
using common::Split;
using common::Trim;
using common::TrimLeft;

}  // namespace tide::loadgen
