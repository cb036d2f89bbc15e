#include "backends/simulated/simulated_backend.h"

#include <cmath>
#include <cstring>
#include <new>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "backends/simulated/busy_tracker.h"
#include "common/clock.h"

namespace tide::backends {
namespace {

using common::ThreadCpuTime;

absl::Status ParamError(const core::ModelSpec& spec, const std::string& key,
                        const std::string& value, const std::string& allowed) {
  return absl::InvalidArgumentError(
      absl::StrCat(spec.path, ": parameters '", key, "' = '", value, "': ", allowed));
}

template <typename T>
void AddSub(const std::string& a, const std::string& b, std::string* sum, std::string* diff) {
  size_t n = a.size() / sizeof(T);
  sum->resize(a.size());
  diff->resize(a.size());
  for (size_t i = 0; i < n; ++i) {
    T x, y;
    std::memcpy(&x, a.data() + i * sizeof(T), sizeof(T));
    std::memcpy(&y, b.data() + i * sizeof(T), sizeof(T));
    T s = static_cast<T>(x + y), d = static_cast<T>(x - y);
    std::memcpy(sum->data() + i * sizeof(T), &s, sizeof(T));
    std::memcpy(diff->data() + i * sizeof(T), &d, sizeof(T));
  }
}

bool AddSubByType(core::DataType t, const std::string& a, const std::string& b, std::string* s,
                  std::string* d) {
  using core::DataType;
  switch (t) {
    case DataType::kInt8:
      AddSub<int8_t>(a, b, s, d);
      return true;
    case DataType::kInt16:
      AddSub<int16_t>(a, b, s, d);
      return true;
    case DataType::kInt32:
      AddSub<int32_t>(a, b, s, d);
      return true;
    case DataType::kInt64:
      AddSub<int64_t>(a, b, s, d);
      return true;
    case DataType::kUint8:
      AddSub<uint8_t>(a, b, s, d);
      return true;
    case DataType::kUint16:
      AddSub<uint16_t>(a, b, s, d);
      return true;
    case DataType::kUint32:
      AddSub<uint32_t>(a, b, s, d);
      return true;
    case DataType::kUint64:
      AddSub<uint64_t>(a, b, s, d);
      return true;
    case DataType::kFp32:
      AddSub<float>(a, b, s, d);
      return true;
    case DataType::kFp64:
      AddSub<double>(a, b, s, d);
      return true;
    default:
      return false;
  }
}

// One simulated GPU (mode gpu): its instance marks batches on it; /metrics
// reads its busy fraction from another thread.
class SimulatedGpu {
 public:
  SimulatedGpu(absl::Duration window, absl::Time created) : tracker_(window, created) {}
  void Begin(absl::Time t) {
    absl::MutexLock lock(&mu_);
    tracker_.Begin(t);
  }
  void End(absl::Time t) {
    absl::MutexLock lock(&mu_);
    tracker_.End(t);
  }
  double Fraction(absl::Time now) const {
    absl::MutexLock lock(&mu_);
    return tracker_.Fraction(now);
  }

 private:
  mutable absl::Mutex mu_;
  BusyTracker tracker_ ABSL_GUARDED_BY(mu_);
};

class SimulatedInstance final : public core::ModelInstance {
 public:
  SimulatedInstance(const core::ModelSpec& spec, SimulatedParams params, int index,
                    std::shared_ptr<SimulatedGpu> gpu)
      : spec_(spec),
        params_(params),
        service_time_(ServiceTimeOf(params), params.seed + static_cast<uint64_t>(index)),
        gpu_(std::move(gpu)) {}

  std::vector<core::ExecuteResult> Execute(const std::vector<const core::InferRequest*>& batch,
                                           core::ExecuteTimings* timings) override {
    int64_t rows = 0;
    for (const core::InferRequest* r : batch) {
      rows += spec_.max_batch_size > 0 && !r->inputs.empty() ? r->inputs[0].shape[0] : 1;
    }
    absl::Duration cost = service_time_.Sample(rows);
    absl::Time start = absl::Now();
    if (params_.mode == SimulatedParams::Mode::kCpu) {
      BurnCpu(cost);
    } else if (gpu_) {
      gpu_->Begin(start);
      absl::SleepFor(cost);
      gpu_->End(absl::Now());
    } else {
      absl::SleepFor(cost);
    }
    absl::Time computed = absl::Now();
    std::vector<core::ExecuteResult> out;
    out.reserve(batch.size());
    for (const core::InferRequest* r : batch) out.push_back(Outputs(*r));
    if (timings) {
      timings->infer = computed - start;
      timings->output = absl::Now() - computed;
    }
    return out;
  }

 private:
  core::ExecuteResult Outputs(const core::InferRequest& r) {
    std::vector<core::Tensor> outs;
    if (params_.output == SimulatedParams::Output::kAddSub) {
      const core::Tensor* a = nullptr;
      const core::Tensor* b = nullptr;
      for (const core::Tensor& t : r.inputs) {
        if (t.name == spec_.inputs[0].name) a = &t;
        if (t.name == spec_.inputs[1].name) b = &t;
      }
      if (!a || !b || a->shape != b->shape) {
        return absl::InvalidArgumentError(absl::StrCat("inputs '", spec_.inputs[0].name, "' and '",
                                                       spec_.inputs[1].name,
                                                       "' must have the same shape"));
      }
      core::Tensor sum{spec_.outputs[0].name, spec_.outputs[0].datatype, a->shape, {}};
      core::Tensor diff{spec_.outputs[1].name, spec_.outputs[1].datatype, a->shape, {}};
      AddSubByType(a->datatype, a->data, b->data, &sum.data, &diff.data);
      outs.push_back(std::move(sum));
      outs.push_back(std::move(diff));
      return outs;
    }
    for (size_t i = 0; i < spec_.outputs.size(); ++i) {
      const core::Tensor* in = nullptr;
      for (const core::Tensor& t : r.inputs) {
        if (t.name == spec_.inputs[i].name) in = &t;
      }
      if (!in)
        return absl::InvalidArgumentError(
            absl::StrCat("missing input '", spec_.inputs[i].name, "'"));
      outs.push_back(core::Tensor{spec_.outputs[i].name, in->datatype, in->shape, in->data});
    }
    return outs;
  }

  const core::ModelSpec spec_;  // a copy: instances may outlive the loader's spec
  SimulatedParams params_;
  ServiceTimeModel service_time_;
  std::shared_ptr<SimulatedGpu> gpu_;  // mode gpu only; shared with the model
};

const char* ModeName(SimulatedParams::Mode m) {
  switch (m) {
    case SimulatedParams::Mode::kCpu:
      return "cpu";
    case SimulatedParams::Mode::kSleep:
      return "sleep";
    case SimulatedParams::Mode::kGpu:
      return "gpu";
  }
  return "?";
}

class SimulatedModel final : public Model {
 public:
  SimulatedModel(const core::ModelSpec& spec, SimulatedParams params, std::vector<char> weights)
      : spec_(spec), params_(params), weights_(std::move(weights)) {}
  absl::StatusOr<std::unique_ptr<core::ModelInstance>> CreateInstance(int index) override {
    std::shared_ptr<SimulatedGpu> gpu;
    if (params_.mode == SimulatedParams::Mode::kGpu) {
      gpu = std::make_shared<SimulatedGpu>(absl::Milliseconds(params_.gpu_window_ms), absl::Now());
      gpus_.push_back({index, gpu});
    }
    return std::make_unique<SimulatedInstance>(spec_, params_, index, std::move(gpu));
  }
  std::string Describe() const override {
    return absl::StrCat("simulated: ", params_.compute_ms, " ms + ", params_.per_item_ms,
                        " ms/row, ", ModeName(params_.mode),
                        params_.mode == SimulatedParams::Mode::kGpu
                            ? absl::StrCat(" (", gpus_.size(), " simulated GPU(s))")
                            : "");
  }
  std::vector<DeviceUsage> Devices(absl::Time now) const override {
    std::vector<DeviceUsage> out;
    for (const auto& [index, gpu] : gpus_) {
      out.push_back({index, gpu->Fraction(now), params_.memory_mb * 1024 * 1024,
                     params_.gpu_memory_mb * 1024 * 1024});
    }
    return out;
  }

 private:
  const core::ModelSpec spec_;
  SimulatedParams params_;
  std::vector<char> weights_;
  // Filled by CreateInstance (the loading thread) before any reader exists.
  std::vector<std::pair<int, std::shared_ptr<SimulatedGpu>>> gpus_;
};

}  // namespace

void BurnCpu(absl::Duration d) {
  // Reading a thread's CPU clock is a system call (no vDSO path): a model
  // with no compute must not pay two per execution.
  if (d <= absl::ZeroDuration()) return;
  absl::Duration end = ThreadCpuTime() + d;
  volatile uint64_t x = 88172645463325252ull;
  while (ThreadCpuTime() < end) {
    for (int i = 0; i < 2000; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  }
}

absl::StatusOr<SimulatedParams> ParseSimulatedParams(const core::ModelSpec& spec) {
  SimulatedParams p;
  for (const auto& entry : spec.parameters) {
    // Named references, not a structured binding: clang before 16 cannot
    // capture a binding in a lambda (the fuzz and sanitizer builds use clang).
    const std::string& key = entry.first;
    const std::string& value = entry.second;
    auto number = [&](double* out, double min) -> absl::Status {
      double v;
      if (!absl::SimpleAtod(value, &v) || !(v >= min) || !std::isfinite(v)) {
        return ParamError(spec, key, value, absl::StrCat("must be a number >= ", min));
      }
      *out = v;
      return absl::OkStatus();
    };
    absl::Status s;
    if (key == "compute_ms")
      s = number(&p.compute_ms, 0);
    else if (key == "per_item_ms")
      s = number(&p.per_item_ms, 0);
    else if (key == "jitter")
      s = number(&p.jitter, 0);
    else if (key == "load_ms")
      s = number(&p.load_ms, 0);
    else if (key == "gpu_window_ms") {
      s = number(&p.gpu_window_ms, 10);
      if (!s.ok() || p.gpu_window_ms > 60000) {
        s = ParamError(spec, key, value, "must be a number from 10 to 60000");
      }
    } else if (key == "gpu_memory_mb")
      s = number(&p.gpu_memory_mb, 0);
    else if (key == "memory_mb") {
      s = number(&p.memory_mb, 0);
      if (s.ok() && p.memory_mb > kMaxSimulatedMemoryMb) {
        s = ParamError(spec, key, value, "must be a number from 0 to 16384 (16 GiB)");
      }
    } else if (key == "seed") {
      if (!absl::SimpleAtoi(value, &p.seed)) s = ParamError(spec, key, value, "must be an integer");
    } else if (key == "distribution") {
      if (value == "fixed")
        p.distribution = SimulatedParams::Distribution::kFixed;
      else if (value == "exponential")
        p.distribution = SimulatedParams::Distribution::kExponential;
      else if (value == "lognormal")
        p.distribution = SimulatedParams::Distribution::kLognormal;
      else
        s = ParamError(spec, key, value, "use fixed, exponential or lognormal");
    } else if (key == "mode") {
      if (value == "cpu")
        p.mode = SimulatedParams::Mode::kCpu;
      else if (value == "sleep")
        p.mode = SimulatedParams::Mode::kSleep;
      else if (value == "gpu")
        p.mode = SimulatedParams::Mode::kGpu;
      else
        s = ParamError(spec, key, value, "use cpu, sleep or gpu");
    } else if (key == "output") {
      if (value == "echo")
        p.output = SimulatedParams::Output::kEcho;
      else if (value == "add_sub")
        p.output = SimulatedParams::Output::kAddSub;
      else
        s = ParamError(spec, key, value, "use echo or add_sub");
    }
    if (!s.ok()) return s;
  }
  if (p.mode == SimulatedParams::Mode::kGpu && p.memory_mb > p.gpu_memory_mb) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.path, ": parameters 'memory_mb' = '", p.memory_mb,
                     "' does not fit the simulated GPU's gpu_memory_mb = '", p.gpu_memory_mb, "'"));
  }
  if (p.output == SimulatedParams::Output::kAddSub) {
    if (spec.inputs.size() != 2 || spec.outputs.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.path, ": output 'add_sub' needs exactly 2 inputs and 2 outputs"));
    }
    for (const auto* t : {&spec.inputs[1], &spec.outputs[0], &spec.outputs[1]}) {
      if (t->datatype != spec.inputs[0].datatype || t->dims != spec.inputs[0].dims) {
        return absl::InvalidArgumentError(
            absl::StrCat(spec.path,
                         ": output 'add_sub' needs every input and output to have the datatype and "
                         "dims of '",
                         spec.inputs[0].name, "'; '", t->name, "' differs"));
      }
    }
    std::string s, d;
    if (!AddSubByType(spec.inputs[0].datatype, "", "", &s, &d)) {
      return absl::InvalidArgumentError(absl::StrCat(spec.path,
                                                     ": output 'add_sub' does not support ",
                                                     core::V2Name(spec.inputs[0].datatype)));
    }
  } else {
    if (spec.outputs.size() > spec.inputs.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          spec.path,
          ": output 'echo' copies input i to output i, so there cannot be more outputs (",
          spec.outputs.size(), ") than inputs (", spec.inputs.size(), ")"));
    }
    for (size_t i = 0; i < spec.outputs.size(); ++i) {
      if (spec.outputs[i].datatype != spec.inputs[i].datatype ||
          spec.outputs[i].dims != spec.inputs[i].dims) {
        return absl::InvalidArgumentError(absl::StrCat(
            spec.path, ": output 'echo' copies input '", spec.inputs[i].name, "' to output '",
            spec.outputs[i].name, "', so their datatype and dims must match"));
      }
    }
  }
  return p;
}

absl::StatusOr<std::unique_ptr<Model>> LoadSimulatedModel(const LoadContext& ctx) {
  auto params = ParseSimulatedParams(*ctx.spec);
  if (!params.ok()) return params.status();
  if (params->load_ms > 0) absl::SleepFor(absl::Milliseconds(params->load_ms));
  std::vector<char> weights;
  try {
    weights.resize(static_cast<size_t>(params->memory_mb * 1024 * 1024));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(ctx.spec->path, ": parameters 'memory_mb' = '", params->memory_mb,
                     "': cannot allocate that much memory (std::bad_alloc)"));
  }
  for (size_t i = 0; i < weights.size(); i += 4096) weights[i] = static_cast<char>(i);
  return std::make_unique<SimulatedModel>(*ctx.spec, *params, std::move(weights));
}

}  // namespace tide::backends
