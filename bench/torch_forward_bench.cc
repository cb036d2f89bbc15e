// The in-process limit for a served TorchScript model: libtorch forward() of
// a model.pt, prepared exactly as the backend prepares it (eval, freeze,
// optimize_for_inference, InferenceMode, the same thread settings), at every
// batch size from 1 to --max-batch. No HTTP, no batching, no copies.
//
//   torch_forward_bench MODEL.pt --shape 784 [--threads 1] [--max-batch 32]
//                       [--min-time 0.2] [--gap-us 0] [--out table.tsv]
//
// Prints, per batch size: median wall time per forward(), CPU time per
// forward() (this thread's plus any intra-op threads': process CPU time), and
// CPU time per item. --out writes the same table as TSV for
// bench/serve_bench.sh, which subtracts it from the server's CPU per request.
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
#include <string>
#include <thread>
#include <vector>

namespace {

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
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
  std::string path = argv[1], out_path;
  std::vector<int64_t> shape;
  int threads = 1, max_batch = 32;
  double min_time = 0.2;
  int gap_us = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--shape") {
      size_t pos = 0;
      while (pos < value.size()) {
        size_t comma = value.find(',', pos);
        if (comma == std::string::npos) comma = value.size();
        shape.push_back(std::stoll(value.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--max-batch") {
      max_batch = std::stoi(value);
    } else if (flag == "--min-time") {
      min_time = std::stod(value);
    } else if (flag == "--gap-us") {
      gap_us = std::stoi(value);
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
  c10::InferenceMode guard;
  std::printf("# %s, %d intra-op thread(s); %s", path.c_str(), at::get_num_threads(),
              at::get_parallel_info().substr(0, at::get_parallel_info().find('\n') + 1).c_str());
  std::printf("%6s %12s %12s %12s %12s\n", "batch", "p50_wall_us", "mean_wall_us", "cpu_us",
              "cpu_us_item");
  std::ofstream out;
  if (!out_path.empty()) {
    out.open(out_path);
    out << "batch\tp50_wall_us\tcpu_us_per_call\tcpu_us_per_item\n";
  }
  for (int b = 1; b <= max_batch; ++b) {
    std::vector<int64_t> s = shape;
    s.insert(s.begin(), b);
    at::Tensor x = at::rand(s);
    for (int i = 0; i < 20; ++i) module.forward({x});
    std::vector<double> walls;
    double cpu_total = 0, wall_total = 0, start = Now();
    while (Now() - start < min_time || walls.size() < 50) {
      if (gap_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
      double c0 = ProcessCpuSeconds(), t0 = Now();
      module.forward({x});
      double t1 = Now();
      cpu_total += ProcessCpuSeconds() - c0;
      wall_total += t1 - t0;
      walls.push_back(t1 - t0);
    }
    double cpu = cpu_total / static_cast<double>(walls.size());
    double mean = wall_total / static_cast<double>(walls.size());
    std::nth_element(walls.begin(), walls.begin() + walls.size() / 2, walls.end());
    double p50 = walls[walls.size() / 2];
    std::printf("%6d %12.1f %12.1f %12.1f %12.2f\n", b, p50 * 1e6, mean * 1e6, cpu * 1e6,
                cpu * 1e6 / b);
    if (out) out << b << "\t" << p50 * 1e6 << "\t" << cpu * 1e6 << "\t" << cpu * 1e6 / b << "\n";
  }
  return 0;
}
