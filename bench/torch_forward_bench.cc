// The in-process limit for a served TorchScript model: libtorch forward() of
// a model.pt, prepared exactly as the backend prepares it (eval, freeze,
// optimize_for_inference, InferenceMode, the same thread settings), at every
// batch size from 1 to --max-batch. No HTTP, no batching, no copies.
//
//   torch_forward_bench MODEL.pt --shape 784 [--threads 1] [--max-batch 32]
//                       [--min-time 0.2] [--gap-us 0] [--out table.tsv]
//                       [--model-dir DIR] [--batches 1,2,4,8,16,32]
//
// Prints, per batch size: median wall time per forward(), CPU time per
// forward() (this thread's plus any intra-op threads': process CPU time), and
// CPU time per item. --out writes the same table as TSV for
// bench/serve_bench.sh, which subtracts it from the server's CPU per request.
// --model-dir (the model's folder, with config.pbtxt) also runs tide's
// backend on the same model, interleaved with forward() so both see the same
// machine noise: Execute() of `batch` one-row requests, as the dynamic
// batcher hands them over (concatenate, forward(), split, checks).
// --batches measures only the listed batch sizes (the serving benchmark
// re-measures a few of them before every served window).
// --gemv 1 (the default, as the backend) routes single-row products to GEMV
// (torchscript_backend.h, RouteSingleRowProductsToGemv), 0 does not; `both`
// times the general path too, interleaved, in an extra column.
// --products 784x512,512x512,512x10 times, instead of a model (MODEL.pt is
// not loaded), one-row products by KxN weights: the GEMM forms a linear layer
// takes (at::addmm, at::linear, and at::matmul by the pre-transposed weight,
// as freezing leaves it) against matrix-vector products (at::mv, at::addmv).
// --gap-us sleeps between calls (outside the timed region), as a server
// worker does between requests at low load: the weights then go cold in the
// caches, which is part of what a lone served request costs.

#include <ATen/Parallel.h>
#include <time.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "backends/torchscript/torchscript_backend.h"
#include "core/model_config.h"

namespace {

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < s.size();) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Median µs of f() over at least 0.3 s and 200 calls.
double MedianMicros(const std::function<void()>& f) {
  for (int i = 0; i < 50; ++i) f();
  std::vector<double> v;
  for (double start = Now(); Now() - start < 0.3 || v.size() < 200;) {
    double t = Now();
    f();
    v.push_back(Now() - t);
  }
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2] * 1e6;
}

int Products(const std::string& list) {
  c10::InferenceMode guard;
  std::printf("# one row by KxN, p50 us, %d thread(s)\n%-10s %8s %8s %8s %8s %8s\n",
              at::get_num_threads(), "KxN", "addmm", "linear", "matmul", "mv", "addmv");
  for (const std::string& kn : SplitCommas(list)) {
    int64_t k = std::stoll(kn), n = std::stoll(kn.substr(kn.find('x') + 1));
    at::Tensor w = at::rand({n, k}), b = at::rand({n}), x = at::rand({1, k});
    at::Tensor wt = w.t().contiguous(), row = x.reshape({k});
    std::printf(
        "%-10s %8.1f %8.1f %8.1f %8.1f %8.1f\n", kn.c_str(),
        MedianMicros([&] { at::addmm(b, x, w.t()); }), MedianMicros([&] { at::linear(x, w, b); }),
        MedianMicros([&] { at::matmul(x, wt); }), MedianMicros([&] { at::mv(wt.t(), row); }),
        MedianMicros([&] { at::addmv(b, w, row); }));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s MODEL.pt --shape D[,D...] [--threads N] [--max-batch N] [--min-time S] "
                 "[--out FILE]\n",
                 argv[0]);
    return 2;
  }
  std::string path = argv[1], out_path, model_dir;
  std::vector<int64_t> shape;
  int threads = 1, max_batch = 32;
  double min_time = 0.2;
  int gap_us = 0;
  std::string gemv = "1";
  std::vector<int> batches;  // --batches 1,4,32; default 1..--max-batch
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--shape") {
      for (const std::string& n : SplitCommas(value)) shape.push_back(std::stoll(n));
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--max-batch") {
      max_batch = std::stoi(value);
    } else if (flag == "--min-time") {
      min_time = std::stod(value);
    } else if (flag == "--gap-us") {
      gap_us = std::stoi(value);
    } else if (flag == "--batches") {
      for (const std::string& n : SplitCommas(value)) batches.push_back(std::stoi(n));
    } else if (flag == "--gemv") {
      gemv = value;
    } else if (flag == "--model-dir") {
      model_dir = value;
    } else if (flag == "--products") {
      at::set_num_threads(threads);
      return Products(value);
    } else if (flag == "--out") {
      out_path = value;
    }
  }
  if (shape.empty()) shape = {784};
  at::set_num_interop_threads(1);
  at::set_num_threads(threads);
  torch::jit::Module loaded = torch::jit::load(path);
  loaded.eval();
  torch::jit::Module frozen = torch::jit::freeze(loaded);
  torch::jit::Module module = torch::jit::optimize_for_inference(frozen);
  torch::jit::Module general = module.clone();
  std::string gemv_info = "off";
  if (gemv != "0") gemv_info = tide::backends::RouteSingleRowProductsToGemv(module).ToString();
  std::unique_ptr<tide::core::ModelInstance> instance;
  tide::core::ModelSpec spec;
  if (!model_dir.empty()) {
    std::string name = model_dir.substr(model_dir.find_last_of('/') + 1);
    auto parsed = tide::core::LoadModelConfig(model_dir, name);
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
      return 1;
    }
    spec = *parsed;
    spec.parameters["TIDE_SINGLE_ROW_GEMV"] = gemv == "0" ? "false" : "true";
    tide::backends::LoadContext ctx{&spec, model_dir, 1, model_dir + "/1", threads};
    auto model = tide::backends::LoadTorchScriptModel(ctx);
    if (!model.ok()) {
      std::fprintf(stderr, "%s\n", std::string(model.status().message()).c_str());
      return 1;
    }
    instance = *(*model)->CreateInstance(0);
    static auto keep = std::move(*model);  // the instance shares its module
  }
  c10::InferenceMode guard;
  std::printf("# %s, %d intra-op thread(s), single-row GEMV: %s; %s", path.c_str(),
              at::get_num_threads(), gemv_info.c_str(),
              at::get_parallel_info().substr(0, at::get_parallel_info().find('\n') + 1).c_str());
  std::printf("%6s %12s %12s %12s %12s%s\n", "batch", "p50_wall_us", "mean_wall_us", "cpu_us",
              "cpu_us_item", instance ? "   execute_p50_us backend_us" : "");
  std::ofstream out;
  if (!out_path.empty()) {
    out.open(out_path);
    out << "batch\tp50_wall_us\tcpu_us_per_call\tcpu_us_per_item\n";
  }
  if (batches.empty()) {
    for (int b = 1; b <= max_batch; ++b) batches.push_back(b);
  }
  for (int b : batches) {
    std::vector<int64_t> s = shape;
    s.insert(s.begin(), b);
    at::Tensor x = at::rand(s);
    for (int i = 0; i < 20; ++i) module.forward({x});
    if (gemv == "both") {
      for (int i = 0; i < 20; ++i) general.forward({x});
    }
    // `b` one-row requests holding x's rows, for the backend.
    std::vector<tide::core::InferRequest> requests(instance ? b : 0);
    std::vector<const tide::core::InferRequest*> batch;
    for (int r = 0; r < static_cast<int>(requests.size()); ++r) {
      std::vector<int64_t> row_shape = s;
      row_shape[0] = 1;
      at::Tensor row = x[r].contiguous();
      requests[r].inputs.push_back(
          tide::core::Tensor{spec.inputs[0].name, tide::core::DataType::kFp32, row_shape,
                             std::string(static_cast<const char*>(row.data_ptr()), row.nbytes())});
      batch.push_back(&requests[r]);
    }
    std::vector<double> walls, executes, generals;
    double cpu_total = 0, wall_total = 0, start = Now();
    while (Now() - start < min_time || walls.size() < 50) {
      if (gap_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
      // With --gemv both, the general path runs first every other call, so
      // neither side always meets the caches the other left; and both are
      // timed right after the same CPU-clock syscall (one costs a lone
      // batch-1 call ~5-10 µs here: the TLB refills after it).
      auto time_general = [&] {
        ProcessCpuSeconds();
        double g0 = Now();
        general.forward({x});
        generals.push_back(Now() - g0);
      };
      const bool general_first = gemv == "both" && walls.size() % 2 == 1;
      if (general_first) time_general();
      double c0 = ProcessCpuSeconds(), t0 = Now();
      module.forward({x});
      double t1 = Now();
      cpu_total += ProcessCpuSeconds() - c0;
      wall_total += t1 - t0;
      walls.push_back(t1 - t0);
      if (gemv == "both" && !general_first) time_general();
      if (instance) {
        double e0 = Now();
        auto results = instance->Execute(batch, nullptr);
        executes.push_back(Now() - e0);
        if (!results[0].ok()) {
          std::fprintf(stderr, "Execute: %s\n", std::string(results[0].status().message()).c_str());
          return 1;
        }
      }
    }
    double cpu = cpu_total / static_cast<double>(walls.size());
    double mean = wall_total / static_cast<double>(walls.size());
    std::nth_element(walls.begin(), walls.begin() + walls.size() / 2, walls.end());
    double p50 = walls[walls.size() / 2];
    std::printf("%6d %12.1f %12.1f %12.1f %12.2f", b, p50 * 1e6, mean * 1e6, cpu * 1e6,
                cpu * 1e6 / b);
    if (instance) {
      std::nth_element(executes.begin(), executes.begin() + executes.size() / 2, executes.end());
      double e50 = executes[executes.size() / 2];
      std::printf(" %16.1f %10.1f", e50 * 1e6, (e50 - p50) * 1e6);
    }
    if (!generals.empty()) {
      std::nth_element(generals.begin(), generals.begin() + generals.size() / 2, generals.end());
      std::printf("   general %8.1f", generals[generals.size() / 2] * 1e6);
    }
    std::printf("\n");
    if (out) out << b << "\t" << p50 * 1e6 << "\t" << cpu * 1e6 << "\t" << cpu * 1e6 / b << "\n";
  }
  return 0;
}
