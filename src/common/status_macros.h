#pragma once

// tide's error currency is absl::Status / absl::StatusOr<T>. Debian 12's Abseil
// (20220623) has no status macros, so these are ours. They are plain
// early-returns, nothing more.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TIDE_STATUS_CONCAT_INNER_(a, b) a##b
#define TIDE_STATUS_CONCAT_(a, b) TIDE_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if
// it is not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status tide_status_ = (expr);        \
    if (!tide_status_.ok()) return tide_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on error
// returns its status, otherwise moves the value into `lhs` (which may declare a
// variable: `ASSIGN_OR_RETURN(auto x, Parse(s));`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  TIDE_ASSIGN_OR_RETURN_IMPL_(TIDE_STATUS_CONCAT_(tide_statusor_, __LINE__), lhs, expr)

#define TIDE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)   \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
