#include "backends/torchscript/io_binding.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace tide::backends::torchscript {
namespace {

std::vector<std::string> Names(const std::vector<core::TensorSpec>& specs) {
  std::vector<std::string> out;
  for (const core::TensorSpec& t : specs) out.push_back(t.name);
  return out;
}

// Index binding when every name follows `<name>__<i>` with distinct i < limit
// (limit < 0: no upper bound known); empty otherwise.
std::vector<int> ByNamingConvention(const std::vector<core::TensorSpec>& specs, int limit) {
  std::vector<int> index;
  std::set<int> seen;
  for (const core::TensorSpec& t : specs) {
    int i = NamingConventionIndex(t.name);
    if (i < 0 || (limit >= 0 && i >= limit) || !seen.insert(i).second) return {};
    index.push_back(i);
  }
  return index;
}

std::string Forward(const ForwardSignature& sig) {
  return absl::StrCat("forward(", absl::StrJoin(sig.arg_names, ", "), ")");
}

}  // namespace

const char* BindRuleName(BindRule rule) {
  switch (rule) {
    case BindRule::kByName:
      return "by name";
    case BindRule::kByIndex:
      return "by __<index> naming";
    case BindRule::kByOrder:
      return "by order";
  }
  return "?";
}

int NamingConventionIndex(std::string_view name) {
  size_t pos = name.rfind("__");
  if (pos == std::string_view::npos || pos + 2 >= name.size()) return -1;
  std::string digits(name.substr(pos + 2));
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
  }
  int i = -1;
  if (digits.size() > 6 || !absl::SimpleAtoi(digits, &i)) return -1;
  return i;
}

absl::StatusOr<Binding> BindInputs(const core::ModelSpec& spec, const ForwardSignature& sig) {
  const int n = static_cast<int>(spec.inputs.size());
  const int total = static_cast<int>(sig.arg_names.size());
  if (n < sig.required_args || n > total) {
    std::string want = sig.required_args == total ? absl::StrCat(total)
                                                  : absl::StrCat(sig.required_args, " to ", total);
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path, ": config declares ", n, " input", n == 1 ? "" : "s", " (",
                     absl::StrJoin(Names(spec.inputs), ", "), ") but the TorchScript model's ",
                     Forward(sig), " takes ", want));
  }
  Binding b;
  std::vector<int> by_name;
  for (const core::TensorSpec& t : spec.inputs) {
    for (int i = 0; i < total; ++i) {
      if (sig.arg_names[i] == t.name) by_name.push_back(i);
    }
  }
  if (static_cast<int>(by_name.size()) == n) {
    b.rule = BindRule::kByName;
    b.index = std::move(by_name);
  } else if (std::vector<int> idx = ByNamingConvention(spec.inputs, total); !idx.empty()) {
    b.rule = BindRule::kByIndex;
    b.index = std::move(idx);
  } else {
    b.rule = BindRule::kByOrder;
    for (int i = 0; i < n; ++i) b.index.push_back(i);
  }
  // Every required argument must receive a config input.
  std::set<int> bound(b.index.begin(), b.index.end());
  for (int i = 0; i < sig.required_args; ++i) {
    if (!bound.count(i)) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.path, ": no config input binds to argument '", sig.arg_names[i],
                       "' of ", Forward(sig), " (binding ", BindRuleName(b.rule), ")"));
    }
  }
  return b;
}

absl::StatusOr<Binding> BindOutputs(const core::ModelSpec& spec, const ForwardSignature& sig) {
  const int n = static_cast<int>(spec.outputs.size());
  Binding b;
  if (std::vector<int> idx = ByNamingConvention(spec.outputs, sig.num_results); !idx.empty()) {
    b.rule = BindRule::kByIndex;
    b.index = std::move(idx);
    return b;
  }
  if (sig.num_results >= 0 && n != sig.num_results) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path, ": config declares ", n, " output", n == 1 ? "" : "s", " (",
                     absl::StrJoin(Names(spec.outputs), ", "),
                     ") but the TorchScript model's forward() returns ", sig.num_results, " tensor",
                     sig.num_results == 1 ? "" : "s"));
  }
  b.rule = BindRule::kByOrder;
  for (int i = 0; i < n; ++i) b.index.push_back(i);
  return b;
}

absl::StatusOr<ThreadSettings> ResolveThreads(const core::ModelSpec& spec, int cpu_count) {
  ThreadSettings t;
  t.intra_op = std::max(1, std::max(1, cpu_count) / std::max(1, spec.instance_count));
  for (const auto& [key, field] :
       {std::pair<const char*, int*>{"INTRA_OP_THREAD_COUNT", &t.intra_op},
        std::pair<const char*, int*>{"INTER_OP_THREAD_COUNT", &t.inter_op}}) {
    auto it = spec.parameters.find(key);
    if (it == spec.parameters.end()) continue;
    int v = 0;
    if (!absl::SimpleAtoi(it->second, &v) || v < 1 || v > 1024) {
      return absl::InvalidArgumentError(absl::StrCat(spec.path, ": parameters '", key, "' = '",
                                                     it->second,
                                                     "': must be an integer from 1 to 1024"));
    }
    *field = v;
  }
  return t;
}

std::string TorchErrorSummary(std::string_view what) {
  std::vector<std::string> lines;
  for (absl::string_view l : absl::StrSplit(absl::string_view(what.data(), what.size()), '\n')) {
    std::string s(l);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
    size_t start = s.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    lines.push_back(s.substr(start));
  }
  if (lines.empty()) return "unknown libtorch error";
  if (lines.front().rfind("The following operation failed in the TorchScript interpreter", 0) ==
      0) {
    // The last line is "RuntimeError: <the op's message>", or for a
    // scripted raise/assert "RuntimeError: AssertionError: <message>".
    std::string last = lines.back();
    for (const char* prefix : {"builtins.", "RuntimeError: "}) {
      size_t n = std::strlen(prefix);
      if (last.size() > n && last.compare(0, n, prefix) == 0) last = last.substr(n);
    }
    return last;
  }
  return lines.front();
}

}  // namespace tide::backends::torchscript
