// Writes tide's example TorchScript models with libtorch itself (no Python):
// a torch::jit::Module per model, its weights registered as parameters from
// a fixed seed, forward() defined in TorchScript, then save(). Run by CMake
// at build time (target tide_models).
//
//   tide_make_models --examples DIR --build DIR
//
// --examples DIR (the source tree's examples/models):
//   simple/1/model.pt   Triton's quickstart on TorchScript: (a+b, a-b), INT32
//   mlp/1/model.pt      784-512-512-10 ReLU MLP, FP32
//   cnn/1/model.pt      small ResNet-style net on 3x64x64 images, 10 logits
//   mlp|cnn/sample_request.json  a V2 JSON request for the model
// --build DIR (the build tree):
//   test_models/raises/1/model.pt  forward(x) = 2x, failing an assert on any
//                                  negative element (per-request error tests)
//   test_models/products/1/model.pt  forward(x, w): the matrix products that
//                                  survive freezing (linear by an input's
//                                  weight, addmm, matmul used twice, linear
//                                  without bias), for the single-row GEMV tests
//   model_fixtures/<m>/input.bin, output.bin  a batch and forward()'s result
//                                  from the unfrozen module (raw little-endian
//                                  FP32), for the integration tests

#include <torch/script.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace {

namespace fs = std::filesystem;

// He-initialised weight and a small bias, from the global (seeded) generator.
void AddLinear(torch::jit::Module& m, const std::string& name, int64_t in, int64_t out) {
  m.register_parameter(name + "_w", torch::randn({out, in}) * std::sqrt(2.0 / in), false);
  m.register_parameter(name + "_b", torch::randn({out}) * 0.01, false);
}

void AddConv(torch::jit::Module& m, const std::string& name, int64_t in, int64_t out) {
  m.register_parameter(name + "_w", torch::randn({out, in, 3, 3}) * std::sqrt(1.0 / (in * 9)),
                       false);
  m.register_parameter(name + "_b", torch::randn({out}) * 0.01, false);
}

torch::jit::Module Simple() {
  torch::jit::Module m("__torch__.tide.Simple");
  // Argument names differ from the config's INPUT0/INPUT1: bound by order.
  m.define(R"(
def forward(self, a, b):
    return a + b, a - b
)");
  return m;
}

torch::jit::Module Mlp() {
  torch::jit::Module m("__torch__.tide.Mlp");
  AddLinear(m, "fc1", 784, 512);
  AddLinear(m, "fc2", 512, 512);
  AddLinear(m, "fc3", 512, 10);
  m.define(R"(
def forward(self, x):
    x = torch.relu(torch.linear(x, self.fc1_w, self.fc1_b))
    x = torch.relu(torch.linear(x, self.fc2_w, self.fc2_b))
    return torch.linear(x, self.fc3_w, self.fc3_b)
)");
  return m;
}

// conv3x3(3→16) → block(16) → conv3x3/2(16→32) → block(32) →
// conv3x3/2(32→64) → block(64) → global average pool → linear(64→10), where
// block(c) = relu(x + conv(relu(conv(x)))). Batch norm is folded into the
// convolutions' biases, as an exported inference model would have it.
torch::jit::Module Cnn() {
  torch::jit::Module m("__torch__.tide.Cnn");
  AddConv(m, "stem", 3, 16);
  AddConv(m, "b1a", 16, 16);
  AddConv(m, "b1b", 16, 16);
  AddConv(m, "down2", 16, 32);
  AddConv(m, "b2a", 32, 32);
  AddConv(m, "b2b", 32, 32);
  AddConv(m, "down3", 32, 64);
  AddConv(m, "b3a", 64, 64);
  AddConv(m, "b3b", 64, 64);
  AddLinear(m, "fc", 64, 10);
  m.define(R"(
def block(self, x, wa, ba, wb, bb):
    y = torch.relu(torch.conv2d(x, wa, ba, [1, 1], [1, 1]))
    return torch.relu(x + torch.conv2d(y, wb, bb, [1, 1], [1, 1]))

def forward(self, x):
    x = torch.relu(torch.conv2d(x, self.stem_w, self.stem_b, [1, 1], [1, 1]))
    x = self.block(x, self.b1a_w, self.b1a_b, self.b1b_w, self.b1b_b)
    x = torch.relu(torch.conv2d(x, self.down2_w, self.down2_b, [2, 2], [1, 1]))
    x = self.block(x, self.b2a_w, self.b2a_b, self.b2b_w, self.b2b_b)
    x = torch.relu(torch.conv2d(x, self.down3_w, self.down3_b, [2, 2], [1, 1]))
    x = self.block(x, self.b3a_w, self.b3a_b, self.b3b_w, self.b3b_b)
    x = torch.flatten(torch.adaptive_avg_pool2d(x, [1, 1]), 1)
    return torch.linear(x, self.fc_w, self.fc_b)
)");
  return m;
}

torch::jit::Module Raises() {
  torch::jit::Module m("__torch__.tide.Raises");
  m.define(R"(
def forward(self, x):
    assert not bool((x < 0).any()), "negative input"
    return x * 2
)");
  return m;
}

torch::jit::Module Products() {
  torch::jit::Module m("__torch__.tide.Products");
  m.register_parameter("w", torch::randn({8, 16}), false);
  m.register_parameter("wt", torch::randn({16, 8}), false);
  m.register_parameter("b", torch::randn({8}), false);
  m.define(R"(
def forward(self, x, w):
    a = torch.linear(x, w, self.b)
    c = torch.addmm(self.b, x, self.wt)
    d = torch.matmul(x, self.wt)
    e = torch.linear(x, self.w)
    return a + c + d * d + e
)");
  return m;
}

void Save(torch::jit::Module& m, const fs::path& file) {
  fs::create_directories(file.parent_path());
  m.save(file.string());
}

void WriteRaw(const at::Tensor& t, const fs::path& file) {
  fs::create_directories(file.parent_path());
  at::Tensor c = t.contiguous().to(torch::kFloat);
  std::ofstream out(file, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
}

// Deterministic input values in [-1, 1] with 3 decimals, the same in the
// sample request and the fixtures' first row.
float SampleValue(int64_t i) {
  return std::round(std::sin(0.37 * static_cast<double>(i) + 0.1) * 1000.0) / 1000.0f;
}

at::Tensor Inputs(std::vector<int64_t> shape) {
  at::Tensor t = torch::empty(shape);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = SampleValue(i);
  return t;
}

void WriteSampleRequest(const fs::path& file, const std::string& input,
                        const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::string json = "{\"id\":\"sample\",\"inputs\":[{\"name\":\"" + input +
                     "\",\"datatype\":\"FP32\",\"shape\":[";
  for (size_t i = 0; i < shape.size(); ++i) json += (i ? "," : "") + std::to_string(shape[i]);
  json += "],\"data\":[";
  char buf[32];
  for (int64_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%s%g", i ? "," : "", SampleValue(i));
    json += buf;
  }
  json += "]}]}\n";
  std::ofstream(file) << json;
}

void Fixture(torch::jit::Module& m, const std::string& name, std::vector<int64_t> shape,
             const fs::path& build) {
  at::Tensor in = Inputs(shape);
  at::Tensor out = m.forward({in}).toTensor();
  WriteRaw(in, build / "model_fixtures" / name / "input.bin");
  WriteRaw(out, build / "model_fixtures" / name / "output.bin");
}

}  // namespace

int main(int argc, char** argv) {
  fs::path examples, build;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--examples")
      examples = argv[i + 1];
    else if (flag == "--build")
      build = argv[i + 1];
  }
  if (examples.empty() || build.empty()) {
    std::cerr << "usage: tide_make_models --examples DIR --build DIR\n";
    return 2;
  }
  try {
    torch::manual_seed(20240607);
    torch::NoGradGuard no_grad;
    torch::jit::Module simple = Simple(), mlp = Mlp(), cnn = Cnn(), raises = Raises();
    for (auto* m : {&simple, &mlp, &cnn, &raises}) m->eval();
    torch::jit::Module products = Products();  // after the others: their weights stay as they were
    products.eval();
    Save(products, build / "test_models" / "products" / "1" / "model.pt");
    Save(simple, examples / "simple" / "1" / "model.pt");
    Save(mlp, examples / "mlp" / "1" / "model.pt");
    Save(cnn, examples / "cnn" / "1" / "model.pt");
    Save(raises, build / "test_models" / "raises" / "1" / "model.pt");
    WriteSampleRequest(examples / "mlp" / "sample_request.json", "INPUT__0", {1, 784});
    WriteSampleRequest(examples / "cnn" / "sample_request.json", "INPUT__0", {1, 3, 64, 64});
    Fixture(mlp, "mlp", {4, 784}, build);
    Fixture(cnn, "cnn", {2, 3, 64, 64}, build);
  } catch (const std::exception& e) {
    std::cerr << "tide_make_models: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
