#include "backends/torchscript/torchscript_backend.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>
#include <torch/script.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <typeinfo>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/torchscript/io_binding.h"
#include "backends/torchscript/torch_dtype.h"
#include "common/blas_env.h"
#include "spdlog/spdlog.h"

namespace tide::backends {
namespace {

using torchscript::Binding;
using torchscript::ThreadSettings;

// Everything an instance needs, shared by a model's instances (read-only
// after load, except the module, whose forward() is reentrant).
struct Shared {
  core::ModelSpec spec;
  std::string path;  // the model.pt
  torch::jit::Module module;
  Binding inputs, outputs;
  std::vector<c10::ScalarType> input_types, output_types;  // per config entry
  std::vector<c10::IValue> arg_defaults;  // per forward() argument (None if required)
  ThreadSettings threads;
};

absl::Time Now() { return absl::Now(); }

// A libtorch exception as a Status. The TorchScript interpreter rethrows an
// op's c10::Error as std::runtime_error carrying the script's traceback, and
// a scripted `raise`/`assert` as torch::jit::JITException (whose header
// Debian does not ship, hence the match on the type's name). A script's own
// exception or c10's Value/Type/Index errors are the input's fault
// (InvalidArgument); anything else is Internal.
absl::Status ForwardError(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const c10::ValueError& x) {
    return absl::InvalidArgumentError(torchscript::TorchErrorSummary(x.what_without_backtrace()));
  } catch (const c10::TypeError& x) {
    return absl::InvalidArgumentError(torchscript::TorchErrorSummary(x.what_without_backtrace()));
  } catch (const c10::IndexError& x) {
    return absl::InvalidArgumentError(torchscript::TorchErrorSummary(x.what_without_backtrace()));
  } catch (const c10::Error& x) {
    return absl::InternalError(torchscript::TorchErrorSummary(x.what_without_backtrace()));
  } catch (const std::exception& x) {
    std::string summary = torchscript::TorchErrorSummary(x.what());
    if (std::string(typeid(x).name()).find("JITException") != std::string::npos) {
      return absl::InvalidArgumentError(summary);
    }
    return absl::InternalError(summary);
  } catch (...) {
    return absl::InternalError("unknown exception from libtorch");
  }
}

// Runs forward() with one tensor per config input (in config order) and
// returns its results as a flat list of tensors.
absl::StatusOr<std::vector<at::Tensor>> RunForward(const Shared& s,
                                                   std::vector<at::Tensor> inputs) {
  std::vector<c10::IValue> stack;
  int used = 0;
  for (int i : s.inputs.index) used = std::max(used, i + 1);
  stack.reserve(used);
  for (int i = 0; i < used; ++i) stack.push_back(s.arg_defaults[i]);
  for (size_t k = 0; k < inputs.size(); ++k) stack[s.inputs.index[k]] = std::move(inputs[k]);
  c10::IValue out;
  try {
    c10::InferenceMode guard;
    out = const_cast<torch::jit::Module&>(s.module).forward(std::move(stack));
  } catch (...) {
    return ForwardError(std::current_exception());
  }
  std::vector<at::Tensor> tensors;
  if (out.isTensor()) {
    tensors.push_back(out.toTensor());
  } else if (out.isTuple()) {
    for (const c10::IValue& v : out.toTupleRef().elements()) {
      if (!v.isTensor())
        return absl::InternalError("forward() returned a tuple holding a non-Tensor");
      tensors.push_back(v.toTensor());
    }
  } else if (out.isTensorList()) {
    for (const at::Tensor& t : out.toTensorVector()) tensors.push_back(t);
  } else {
    return absl::InternalError(
        absl::StrCat("forward() returned ", out.tagKind(),
                     "; tide needs a Tensor, or a tuple or list of Tensors"));
  }
  return tensors;
}

std::vector<int64_t> Dims(const at::Tensor& t) { return {t.sizes().begin(), t.sizes().end()}; }

// ---- Single-row products at GEMV cost (torchscript_backend.h) ----
// Each op below computes exactly the aten op it replaces; with one row of a
// floating-point input on the CPU it calls a matrix-vector product instead.

// One row: every dim but the last is 1 (a 1-D input is one row too).
bool OneRow(const at::Tensor& x) {
  if (x.dim() < 1 || !x.device().is_cpu()) return false;
  for (int64_t d = 0; d + 1 < x.dim(); ++d) {
    if (x.size(d) != 1) return false;
  }
  return x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble;
}

// x's shape with the last dim replaced by n.
std::vector<int64_t> RowShape(const at::Tensor& x, int64_t n) {
  std::vector<int64_t> shape = Dims(x);
  shape.back() = n;
  return shape;
}

// A bias that addmv can take for an n-wide row: [n] or [1, n], x's dtype.
std::optional<at::Tensor> RowBias(const at::Tensor& b, const at::Tensor& x, int64_t n) {
  if (!b.defined() || b.scalar_type() != x.scalar_type() || b.numel() != n || b.dim() < 1 ||
      b.dim() > 2 || b.size(-1) != n)
    return std::nullopt;
  return b.reshape({n});
}

// aten::linear(input, weight [n, k], bias?).
at::Tensor GemvLinear(const at::Tensor& x, const at::Tensor& w,
                      const c10::optional<at::Tensor>& b) {
  if (OneRow(x) && w.dim() == 2 && w.scalar_type() == x.scalar_type() && x.size(-1) == w.size(1)) {
    const int64_t n = w.size(0);
    at::Tensor row = x.reshape({x.size(-1)});
    if (!b || !b->defined()) return at::mv(w, row).reshape(RowShape(x, n));
    if (auto bias = RowBias(*b, x, n)) return at::addmv(*bias, w, row).reshape(RowShape(x, n));
  }
  return at::linear(x, w, b);
}

// aten::addmm(self, mat1 [1, k], mat2 [k, n], beta, alpha).
at::Tensor GemvAddmm(const at::Tensor& self, const at::Tensor& m1, const at::Tensor& m2,
                     const at::Scalar& beta, const at::Scalar& alpha) {
  if (m1.dim() == 2 && OneRow(m1) && m2.dim() == 2 && m2.scalar_type() == m1.scalar_type() &&
      m1.size(1) == m2.size(0)) {
    if (auto bias = RowBias(self, m1, m2.size(1)))
      return at::addmv(*bias, m2.t(), m1[0], beta, alpha).unsqueeze(0);
  }
  return at::addmm(self, m1, m2, beta, alpha);
}

// aten::matmul(self, other [k, n]): what freezing makes of a linear layer
// (the weight pre-transposed).
at::Tensor GemvMatmul(const at::Tensor& x, const at::Tensor& w) {
  if (OneRow(x) && w.dim() == 2 && w.scalar_type() == x.scalar_type() && x.size(-1) == w.size(0))
    return at::mv(w.t(), x.reshape({x.size(-1)})).reshape(RowShape(x, w.size(1)));
  return at::matmul(x, w);
}

// aten::add(aten::matmul(self, other), bias, alpha=1), one op.
at::Tensor GemvMatmulAdd(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  if (OneRow(x) && w.dim() == 2 && w.scalar_type() == x.scalar_type() && x.size(-1) == w.size(0)) {
    if (auto bias = RowBias(b, x, w.size(1)))
      return at::addmv(*bias, w.t(), x.reshape({x.size(-1)})).reshape(RowShape(x, w.size(1)));
  }
  return at::add(at::matmul(x, w), b);
}

TORCH_LIBRARY(tide, m) {
  m.def("gemv_linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor", &GemvLinear);
  m.def(
      "gemv_addmm(Tensor self, Tensor mat1, Tensor mat2, Scalar beta=1, Scalar alpha=1) -> Tensor",
      &GemvAddmm);
  m.def("gemv_matmul(Tensor self, Tensor other) -> Tensor", &GemvMatmul);
  m.def("gemv_matmul_add(Tensor self, Tensor other, Tensor bias) -> Tensor", &GemvMatmulAdd);
}

bool IsConstantOne(torch::jit::Value* v) {
  auto iv = torch::jit::toIValue(v);
  return iv && ((iv->isInt() && iv->toInt() == 1) || (iv->isDouble() && iv->toDouble() == 1.0));
}

void CollectProducts(torch::jit::Block* block, std::vector<torch::jit::Node*>* out) {
  for (torch::jit::Node* n : block->nodes()) {
    for (torch::jit::Block* b : n->blocks()) CollectProducts(b, out);
    if (n->matches("aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor") ||
        n->matches("aten::addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, "
                   "Scalar alpha=1) -> Tensor") ||
        n->matches("aten::matmul(Tensor self, Tensor other) -> Tensor"))
      out->push_back(n);
  }
}

// Replaces `old` (and `also`, whose output feeds only `old`, if any) by a
// call to `op` with `inputs`; false (graph untouched) if no schema fits.
bool Replace(torch::jit::Node* old, torch::jit::Node* also, const char* op,
             std::vector<torch::jit::Value*> inputs) {
  torch::jit::Graph* g = old->owningGraph();
  torch::jit::Node* call = g->create(c10::Symbol::fromQualString(op), inputs, 1);
  call->insertBefore(old);
  if (!call->maybeSchema()) {
    call->destroy();
    return false;
  }
  call->output()->setType(old->output()->type());
  old->output()->replaceAllUsesWith(call->output());
  old->destroy();
  if (also) also->destroy();
  return true;
}

}  // namespace

GemvRouting RouteSingleRowProductsToGemv(torch::jit::Module& module) {
  std::shared_ptr<torch::jit::Graph> graph = module.get_method("forward").graph();
  std::vector<torch::jit::Node*> products;
  CollectProducts(graph->block(), &products);
  GemvRouting r;
  for (torch::jit::Node* n : products) {
    if (n->kind() == c10::Symbol::fromQualString("aten::linear")) {
      r.linear += Replace(n, nullptr, "tide::gemv_linear", n->inputs().vec());
    } else if (n->kind() == c10::Symbol::fromQualString("aten::addmm")) {
      r.addmm += Replace(n, nullptr, "tide::gemv_addmm", n->inputs().vec());
    } else {
      torch::jit::Value* out = n->output();
      torch::jit::Node* add = out->uses().size() == 1 ? out->uses()[0].user : nullptr;
      if (add &&
          add->matches("aten::add(Tensor self, Tensor other, *, Scalar alpha=1) -> "
                       "Tensor") &&
          add->input(0) == out && add->input(1) != out && IsConstantOne(add->input(2)) &&
          Replace(add, n, "tide::gemv_matmul_add", {n->input(0), n->input(1), add->input(1)})) {
        ++r.matmul_add;
      } else {
        r.matmul += Replace(n, nullptr, "tide::gemv_matmul", n->inputs().vec());
      }
    }
  }
  return r;
}

std::string GemvRouting::ToString() const {
  return absl::StrCat(linear + addmm + matmul + matmul_add, " ops rewritten (", matmul_add,
                      " matmul+add, ", matmul, " matmul, ", linear, " linear, ", addmm, " addmm)");
}

namespace {

class TorchScriptInstance final : public core::ModelInstance {
 public:
  explicit TorchScriptInstance(std::shared_ptr<const Shared> shared) : s_(std::move(shared)) {}

  std::vector<core::ExecuteResult> Execute(const std::vector<const core::InferRequest*>& batch,
                                           core::ExecuteTimings* timings) override {
    std::vector<core::ExecuteResult> results(batch.size(), absl::InternalError("not executed"));
    try {
      SetThreadsOnThisThread();
      std::vector<size_t> runnable;
      for (size_t i = 0; i < batch.size(); ++i) {
        absl::Status ok = CheckInputs(*batch[i], batch[runnable.empty() ? i : runnable[0]]);
        if (ok.ok()) {
          runnable.push_back(i);
        } else {
          results[i] = ok;
        }
      }
      const bool batched = s_->spec.max_batch_size > 0;
      if (batched && runnable.size() > 1) {
        absl::Status batch_status = Run(batch, runnable, &results, timings);
        if (!batch_status.ok()) {
          // Isolate the request(s) that make forward() fail.
          for (size_t i : runnable) {
            absl::Status alone = Run(batch, {i}, &results, timings);
            if (!alone.ok()) results[i] = alone;
          }
        }
      } else {
        for (size_t i : runnable) {
          absl::Status alone = Run(batch, {i}, &results, timings);
          if (!alone.ok()) results[i] = alone;
        }
      }
    } catch (...) {
      // Only allocation or tensor-conversion failures get here; forward()'s
      // own errors are handled per request above.
      results.assign(batch.size(), ForwardError(std::current_exception()));
    }
    return results;
  }

 private:
  // libtorch's intra-op thread count is per thread (an OpenMP setting), so
  // set it on whichever thread runs us, once per thread.
  void SetThreadsOnThisThread() {
    std::thread::id me = std::this_thread::get_id();
    if (configured_thread_ == me) return;
    at::set_num_threads(s_->threads.intra_op);
    configured_thread_ = me;
  }

  // Every config input present with the config's dtype, and (to be batched
  // with `head`) the same non-batch dims as head's.
  absl::Status CheckInputs(const core::InferRequest& r, const core::InferRequest* head) const {
    for (const core::TensorSpec& spec : s_->spec.inputs) {
      const core::Tensor* t = Find(r, spec.name);
      const core::Tensor* h = Find(*head, spec.name);
      if (!t) return absl::InvalidArgumentError(absl::StrCat("missing input '", spec.name, "'"));
      if (t->datatype != spec.datatype) {
        return absl::InvalidArgumentError(
            absl::StrCat("input '", spec.name, "': datatype ", core::V2Name(t->datatype),
                         " is not the model's ", core::V2Name(spec.datatype)));
      }
      if (s_->spec.max_batch_size > 0 &&
          (t->shape.empty() || !h || h->shape.size() != t->shape.size() ||
           !std::equal(t->shape.begin() + 1, t->shape.end(), h->shape.begin() + 1))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", spec.name, "': shape ", core::ShapeToString(t->shape),
            " cannot be batched with the batch's ", core::ShapeToString(h ? h->shape : t->shape)));
      }
      if (absl::Status data = core::ValidateTensorData(*t); !data.ok()) return data;
    }
    return absl::OkStatus();
  }

  static const core::Tensor* Find(const core::InferRequest& r, const std::string& name) {
    for (const core::Tensor& t : r.inputs) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }

  // Runs the requests `which` of `batch` as one forward(); on success fills
  // their results, otherwise returns forward()'s error (results untouched).
  absl::Status Run(const std::vector<const core::InferRequest*>& batch,
                   const std::vector<size_t>& which, std::vector<core::ExecuteResult>* results,
                   core::ExecuteTimings* timings) {
    const core::ModelSpec& spec = s_->spec;
    const bool batched = spec.max_batch_size > 0;
    absl::Time t0 = Now();
    std::vector<int64_t> rows;
    int64_t total = 0;
    for (size_t i : which) {
      int64_t n = batched ? Find(*batch[i], spec.inputs[0].name)->shape[0] : 1;
      rows.push_back(n);
      total += n;
    }
    std::vector<at::Tensor> inputs;
    for (size_t k = 0; k < spec.inputs.size(); ++k) {
      const core::Tensor* first = Find(*batch[which[0]], spec.inputs[k].name);
      if (which.size() == 1) {
        // No copy: the request outlives forward().
        inputs.push_back(at::from_blob(const_cast<char*>(first->data.data()), first->shape,
                                       at::TensorOptions().dtype(s_->input_types[k])));
        continue;
      }
      std::vector<int64_t> shape = first->shape;
      shape[0] = total;
      at::Tensor t = at::empty(shape, at::TensorOptions().dtype(s_->input_types[k]));
      char* dst = static_cast<char*>(t.data_ptr());
      for (size_t i : which) {
        const std::string& d = Find(*batch[i], spec.inputs[k].name)->data;
        std::memcpy(dst, d.data(), d.size());
        dst += d.size();
      }
      inputs.push_back(std::move(t));
    }
    absl::Time t1 = Now();
    auto outs = RunForward(*s_, std::move(inputs));
    absl::Time t2 = Now();
    if (timings) {
      timings->input += t1 - t0;
      timings->infer += t2 - t1;
    }
    if (!outs.ok()) return outs.status();
    std::vector<std::vector<core::Tensor>> per_request(which.size());
    for (size_t k = 0; k < spec.outputs.size(); ++k) {
      const core::TensorSpec& os = spec.outputs[k];
      int idx = s_->outputs.index[k];
      if (idx >= static_cast<int>(outs->size())) {
        return absl::InternalError(absl::StrCat("output '", os.name, "' binds to forward() result ",
                                                idx, " but forward() returned ", outs->size()));
      }
      at::Tensor t = (*outs)[idx].contiguous();
      if (t.scalar_type() != s_->output_types[k]) {
        auto got = torchscript::FromTorchType(t.scalar_type());
        return absl::InternalError(
            absl::StrCat("output '", os.name, "': the model returns ",
                         got ? core::V2Name(*got) : c10::toString(t.scalar_type()),
                         " but config.pbtxt declares ", core::V2Name(os.datatype)));
      }
      std::vector<int64_t> dims = Dims(t);
      std::vector<int64_t> want = os.dims;
      if (batched) want.insert(want.begin(), total);
      bool match = dims.size() == want.size();
      for (size_t d = 0; match && d < dims.size(); ++d) match = want[d] < 0 || want[d] == dims[d];
      if (!match) {
        std::vector<int64_t> declared = os.dims;
        if (batched) declared.insert(declared.begin(), -1);
        return absl::InternalError(absl::StrCat("output '", os.name, "': the model returns shape ",
                                                core::ShapeToString(dims), " for a batch of ",
                                                total, " but config.pbtxt declares ",
                                                core::ShapeToString(declared)));
      }
      const char* src = static_cast<const char*>(t.data_ptr());
      size_t row_bytes = total == 0 ? 0 : t.nbytes() / static_cast<size_t>(total);
      for (size_t r = 0; r < which.size(); ++r) {
        core::Tensor piece{os.name, os.datatype, dims, {}};
        if (batched) {
          piece.shape[0] = rows[r];
          piece.data.assign(src, row_bytes * rows[r]);
          src += row_bytes * rows[r];
        } else {
          piece.data.assign(src, t.nbytes());
        }
        per_request[r].push_back(std::move(piece));
      }
    }
    for (size_t r = 0; r < which.size(); ++r) (*results)[which[r]] = std::move(per_request[r]);
    if (timings) timings->output += Now() - t2;
    return absl::OkStatus();
  }

  std::shared_ptr<const Shared> s_;
  std::thread::id configured_thread_;
};

class TorchScriptModel final : public Model {
 public:
  TorchScriptModel(std::shared_ptr<const Shared> shared, std::string description)
      : s_(std::move(shared)), description_(std::move(description)) {}
  absl::StatusOr<std::unique_ptr<core::ModelInstance>> CreateInstance(int index) override {
    return std::make_unique<TorchScriptInstance>(s_);
  }
  std::string Describe() const override { return description_; }

 private:
  std::shared_ptr<const Shared> s_;
  std::string description_;
};

// The BLAS libtorch's linear algebra ends up in (Debian: the libblas.so.3
// alternative, e.g. OpenBLAS built with OpenMP).
// With OpenBLAS, also the kernels it chose (common/blas_env.h): a generic
// fallback on a CPU with AVX2 is logged as a warning with the fix.
std::string BlasName() {
  std::error_code ec;
  auto target =
      std::filesystem::read_symlink("/etc/alternatives/libblas.so.3-x86_64-linux-gnu", ec);
  if (ec) return "BLAS unknown";
  std::string dir = target.parent_path().filename().string();  // "openblas-openmp", "blas"
  if (dir == "blas") return "reference BLAS (slow: install libopenblas0)";
  std::string core;
  if (void* h = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD)) {
    using CoreName = char* (*)();
    if (auto fn = reinterpret_cast<CoreName>(dlsym(h, "openblas_get_corename"))) core = fn();
    dlclose(h);
  }
  if (core.empty()) return dir;
  common::CpuSimd cpu = common::DetectCpuSimd();
  std::optional<std::string> better = common::OpenBlasCoreTypeFor(cpu);
  if (common::IsGenericOpenBlasCore(core) && better) {
    spdlog::warn(
        "OpenBLAS runs its generic '{}' kernels on a CPU that can run '{}' ones (2-4x faster "
        "here): start tide with OPENBLAS_CORETYPE={} (tide serve sets it when it is unset)",
        core, *better, *better);
  }
  return absl::StrCat(dir, " (", core, " kernels)");
}

// at::set_num_interop_threads may be called once per process.
int SetInterOpThreads(int wanted) {
  static std::once_flag once;
  std::call_once(once, [wanted] {
    try {
      at::set_num_interop_threads(wanted);
    } catch (const std::exception& e) {
      spdlog::warn("libtorch inter-op threads: {}", torchscript::TorchErrorSummary(e.what()));
    }
  });
  int actual = at::get_num_interop_threads();
  if (actual != wanted) {
    spdlog::warn("libtorch inter-op threads are process-wide and already {}; {} requested", actual,
                 wanted);
  }
  return actual;
}

at::Tensor Zeros(const core::TensorSpec& ts, bool batched, c10::ScalarType type) {
  std::vector<int64_t> shape;
  if (batched) shape.push_back(1);
  for (int64_t d : ts.dims) shape.push_back(d < 0 ? 1 : d);
  return at::zeros(shape, at::TensorOptions().dtype(type));
}

std::string ConfigTypeName(core::DataType t) {
  return t == core::DataType::kBytes ? "TYPE_STRING" : absl::StrCat("TYPE_", core::V2Name(t));
}

// forward() failed on zeros of the config's dtypes: find an input whose dtype
// is the cause by trying the common alternatives for it alone.
std::string DiagnoseInputTypes(const Shared& s, bool batched) {
  static const core::DataType kCandidates[] = {
      core::DataType::kFp32, core::DataType::kInt64, core::DataType::kInt32, core::DataType::kFp64,
      core::DataType::kFp16, core::DataType::kUint8, core::DataType::kBool};
  for (size_t k = 0; k < s.spec.inputs.size(); ++k) {
    for (core::DataType c : kCandidates) {
      if (c == s.spec.inputs[k].datatype) continue;
      std::vector<at::Tensor> in;
      for (size_t j = 0; j < s.spec.inputs.size(); ++j) {
        core::DataType t = j == k ? c : s.spec.inputs[j].datatype;
        in.push_back(Zeros(s.spec.inputs[j], batched, *torchscript::ToTorchType(t)));
      }
      if (RunForward(s, std::move(in)).ok()) {
        return absl::StrCat("input '", s.spec.inputs[k].name, "' is declared ",
                            ConfigTypeName(s.spec.inputs[k].datatype),
                            " but the model's forward() fails with it and runs with ",
                            ConfigTypeName(c));
      }
    }
  }
  return "";
}

// Parameter TIDE_SINGLE_ROW_GEMV: "true" (the default) or "false".
absl::StatusOr<bool> SingleRowGemv(const core::ModelSpec& spec) {
  auto it = spec.parameters.find("TIDE_SINGLE_ROW_GEMV");
  if (it == spec.parameters.end() || it->second == "true") return true;
  if (it->second == "false") return false;
  return absl::InvalidArgumentError(absl::StrCat(spec.path,
                                                 ": parameters 'TIDE_SINGLE_ROW_GEMV' = '",
                                                 it->second, "': must be true or false"));
}

absl::StatusOr<std::unique_ptr<Model>> Load(const LoadContext& ctx) {
  auto shared = std::make_shared<Shared>();
  Shared& s = *shared;
  s.spec = *ctx.spec;
  const core::ModelSpec& spec = s.spec;
  s.path = absl::StrCat(ctx.version_dir, "/model.pt");
  if (!std::filesystem::is_regular_file(s.path)) {
    return absl::NotFoundError(absl::StrCat("model '", spec.name, "' version ", ctx.version,
                                            ": no TorchScript file ", s.path));
  }
  auto threads = torchscript::ResolveThreads(spec, ctx.cpu_count);
  if (!threads.ok()) return threads.status();
  auto single_row_gemv = SingleRowGemv(spec);
  if (!single_row_gemv.ok()) return single_row_gemv.status();
  s.threads = *threads;
  for (const auto* list : {&spec.inputs, &spec.outputs}) {
    for (const core::TensorSpec& ts : *list) {
      auto t = torchscript::ToTorchType(ts.datatype);
      if (!t) {
        return absl::InvalidArgumentError(absl::StrCat(
            spec.path, ": ", list == &spec.inputs ? "input '" : "output '", ts.name,
            "': ", ConfigTypeName(ts.datatype),
            " has no libtorch tensor type (use BOOL, UINT8, INT8-64, FP16, FP32 or FP64)"));
      }
      (list == &spec.inputs ? s.input_types : s.output_types).push_back(*t);
    }
  }
  s.threads.inter_op = SetInterOpThreads(s.threads.inter_op);
  at::set_num_threads(s.threads.intra_op);

  absl::Time start = Now();
  torch::jit::Module loaded = torch::jit::load(s.path);
  loaded.eval();
  const c10::FunctionSchema& schema = loaded.get_method("forward").function().getSchema();
  torchscript::ForwardSignature sig;
  for (size_t i = 1; i < schema.arguments().size(); ++i) {  // 0 is self
    const c10::Argument& a = schema.arguments()[i];
    sig.arg_names.push_back(a.name());
    s.arg_defaults.push_back(a.default_value() ? *a.default_value() : c10::IValue());
    if (!a.default_value()) sig.required_args = static_cast<int>(i);
  }
  sig.num_results = 1;
  if (schema.returns().size() == 1) {
    const c10::TypePtr& ret = schema.returns()[0].type();
    if (ret->kind() == c10::TypeKind::TupleType) {
      sig.num_results = static_cast<int>(ret->containedTypes().size());
    } else if (ret->kind() != c10::TypeKind::TensorType) {
      sig.num_results = -1;
    }
  }
  auto in = torchscript::BindInputs(spec, sig);
  if (!in.ok()) return in.status();
  auto out = torchscript::BindOutputs(spec, sig);
  if (!out.ok()) return out.status();
  s.inputs = *in;
  s.outputs = *out;
  torch::jit::Module frozen = torch::jit::freeze(loaded);
  s.module = torch::jit::optimize_for_inference(frozen);
  std::string gemv = "off";
  if (*single_row_gemv) gemv = RouteSingleRowProductsToGemv(s.module).ToString();

  // Probe: forward() on zeros of the config's dtypes and dims; then the same
  // through an instance, which checks the outputs against the config.
  const bool batched = spec.max_batch_size > 0;
  std::vector<at::Tensor> zeros;
  for (size_t k = 0; k < spec.inputs.size(); ++k)
    zeros.push_back(Zeros(spec.inputs[k], batched, s.input_types[k]));
  if (auto r = RunForward(s, zeros); !r.ok()) {
    std::string cause = DiagnoseInputTypes(s, batched);
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path, ": ", cause.empty() ? "" : cause + "; ",
                     "forward() on zeros of the config's inputs (",
                     absl::StrJoin(spec.inputs, ", ",
                                   [](std::string* o, const core::TensorSpec& t) {
                                     absl::StrAppend(o, t.name, " ", ConfigTypeName(t.datatype));
                                   }),
                     ") failed: ", r.status().message()));
  }
  core::InferRequest probe;
  for (size_t k = 0; k < spec.inputs.size(); ++k) {
    const at::Tensor& z = zeros[k];
    probe.inputs.push_back(
        core::Tensor{spec.inputs[k].name, spec.inputs[k].datatype, Dims(z),
                     std::string(static_cast<const char*>(z.data_ptr()), z.nbytes())});
  }
  TorchScriptInstance instance(shared);
  auto checked = instance.Execute({&probe}, nullptr);
  if (!checked[0].ok()) {
    return absl::InvalidArgumentError(absl::StrCat(spec.path, ": ", checked[0].status().message()));
  }
  std::string description = absl::StrCat(
      "TorchScript ", s.path, " (frozen, optimized for inference, ",
      absl::FormatDuration(Now() - start), "); inputs bound ",
      torchscript::BindRuleName(s.inputs.rule), ", outputs ",
      torchscript::BindRuleName(s.outputs.rule), "; ", s.threads.intra_op,
      " intra-op thread(s) per instance, ", s.threads.inter_op, " inter-op; BLAS: ", BlasName(),
      "; single-row GEMV: ", gemv, "; ",
      at::get_parallel_info().find("OpenMP") != std::string::npos ? "OpenMP" : "native threads");
  return std::make_unique<TorchScriptModel>(std::move(shared), std::move(description));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadTorchScriptModel(const LoadContext& ctx) {
  try {
    return Load(ctx);
  } catch (...) {
    absl::Status s = ForwardError(std::current_exception());
    return absl::InvalidArgumentError(absl::StrCat("model '", ctx.spec->name, "': loading ",
                                                   ctx.version_dir,
                                                   "/model.pt failed: ", s.message()));
  }
}

}  // namespace tide::backends
