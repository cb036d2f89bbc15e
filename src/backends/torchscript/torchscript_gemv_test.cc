// Single-row products at GEMV cost (torchscript_backend.h), on every example
// TorchScript model: loaded with TIDE_SINGLE_ROW_GEMV true (the default) and
// false, the model answers a lone one-row request the same within float
// tolerance (GEMV and GEMM add in different orders: 1e-5 relative, plus 1e-6
// absolute for values near 0), and batches of 3 and 8 rows with the same
// bytes (batched calls run the original aten ops). The pass rewrites exactly
// the products each model's frozen graph has.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backends/torchscript/torchscript_backend.h"
#include "core/model_config.h"
#include "gtest/gtest.h"

namespace tide::backends {
namespace {

const std::string kExamples = TIDE_EXAMPLE_MODELS;

struct Loaded {
  core::ModelSpec spec;
  std::unique_ptr<Model> model;
  std::unique_ptr<core::ModelInstance> instance;
};

// `gemv`: the parameter's value, or "" to leave the config as it is.
Loaded Load(const std::string& name, const std::string& gemv) {
  Loaded l;
  auto spec = core::LoadModelConfig(kExamples + "/" + name, name);
  EXPECT_TRUE(spec.ok()) << spec.status();
  l.spec = *spec;
  if (!gemv.empty()) l.spec.parameters["TIDE_SINGLE_ROW_GEMV"] = gemv;
  LoadContext ctx{&l.spec, kExamples + "/" + name, 1, kExamples + "/" + name + "/1", 1};
  auto model = LoadTorchScriptModel(ctx);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return l;
  l.model = std::move(*model);
  l.instance = std::move(*l.model->CreateInstance(0));
  return l;
}

// One request per row, each a one-row tensor per input, values from a fixed
// sequence in [-1, 1) (FP32) or [-50, 50) (INT32).
std::vector<core::InferRequest> Rows(const core::ModelSpec& spec, int rows) {
  uint32_t state = 12345;
  std::vector<core::InferRequest> out(rows);
  for (core::InferRequest& r : out) {
    for (const core::TensorSpec& ts : spec.inputs) {
      core::Tensor t{ts.name, ts.datatype, {1}, {}};
      int64_t n = 1;
      for (int64_t d : ts.dims) {
        t.shape.push_back(d);
        n *= d;
      }
      t.data.resize(static_cast<size_t>(n) * 4);
      for (int64_t i = 0; i < n; ++i) {
        state = state * 1664525u + 1013904223u;
        if (ts.datatype == core::DataType::kFp32) {
          float v = static_cast<float>(state >> 8) / static_cast<float>(1 << 23) - 1.0f;
          std::memcpy(&t.data[i * 4], &v, 4);
        } else {
          int32_t v = static_cast<int32_t>(state >> 25) - 50;
          std::memcpy(&t.data[i * 4], &v, 4);
        }
      }
      r.inputs.push_back(std::move(t));
    }
  }
  return out;
}

// Each request's outputs, from one Execute() of all of them as one batch.
std::vector<std::vector<core::Tensor>> Answers(Loaded& l,
                                               const std::vector<core::InferRequest>& rs) {
  std::vector<const core::InferRequest*> batch;
  for (const core::InferRequest& r : rs) batch.push_back(&r);
  auto results = l.instance->Execute(batch, nullptr);
  std::vector<std::vector<core::Tensor>> out;
  for (auto& r : results) {
    EXPECT_TRUE(r.ok()) << r.status();
    out.push_back(r.ok() ? *r : std::vector<core::Tensor>{});
  }
  return out;
}

std::vector<float> Floats(const core::Tensor& t) {
  std::vector<float> v(t.data.size() / sizeof(float));
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

struct Example {
  std::string name;
  std::string rewritten;  // what Describe() says with the pass on
};

const Example kModels[] = {
    {"mlp", "single-row GEMV: 3 ops rewritten (3 matmul+add, 0 matmul, 0 linear, 0 addmm)"},
    {"cnn", "single-row GEMV: 1 ops rewritten (1 matmul+add, 0 matmul, 0 linear, 0 addmm)"},
    {"simple", "single-row GEMV: 0 ops rewritten (0 matmul+add, 0 matmul, 0 linear, 0 addmm)"},
};

TEST(SingleRowGemv, RewritesExactlyTheProductsOfEachExampleModel) {
  for (const Example& e : kModels) {
    Loaded on = Load(e.name, ""), off = Load(e.name, "false");
    ASSERT_TRUE(on.model && off.model) << e.name;
    EXPECT_NE(on.model->Describe().find(e.rewritten + ";"), std::string::npos)
        << e.name << ": " << on.model->Describe();
    EXPECT_NE(off.model->Describe().find("single-row GEMV: off;"), std::string::npos)
        << e.name << ": " << off.model->Describe();
  }
}

TEST(SingleRowGemv, OneRowAnswersEqualTheGeneralPathWithinFloatTolerance) {
  for (const Example& e : kModels) {
    Loaded on = Load(e.name, "true"), off = Load(e.name, "false");
    ASSERT_TRUE(on.instance && off.instance) << e.name;
    std::vector<core::InferRequest> one = Rows(on.spec, 1);
    auto got = Answers(on, one), want = Answers(off, one);
    ASSERT_EQ(got[0].size(), on.spec.outputs.size()) << e.name;
    ASSERT_EQ(want[0].size(), on.spec.outputs.size()) << e.name;
    for (size_t k = 0; k < got[0].size(); ++k) {
      const core::Tensor &g = got[0][k], &w = want[0][k];
      EXPECT_EQ(g.shape, w.shape) << e.name;
      ASSERT_EQ(g.data.size(), w.data.size()) << e.name;
      if (g.datatype != core::DataType::kFp32) {
        EXPECT_EQ(g.data, w.data) << e.name;
        continue;
      }
      std::vector<float> gf = Floats(g), wf = Floats(w);
      for (size_t i = 0; i < gf.size(); ++i)
        EXPECT_NEAR(gf[i], wf[i], 1e-6 + 1e-5 * std::fabs(wf[i])) << e.name << " element " << i;
    }
  }
}

TEST(SingleRowGemv, BatchedAnswersAreTheGeneralPathsBytes) {
  for (const Example& e : kModels) {
    Loaded on = Load(e.name, "true"), off = Load(e.name, "false");
    ASSERT_TRUE(on.instance && off.instance) << e.name;
    for (int rows : {3, 8}) {
      std::vector<core::InferRequest> batch = Rows(on.spec, rows);
      auto got = Answers(on, batch), want = Answers(off, batch);
      ASSERT_EQ(got.size(), static_cast<size_t>(rows));
      for (int r = 0; r < rows; ++r) {
        ASSERT_EQ(got[r].size(), on.spec.outputs.size()) << e.name;
        for (size_t k = 0; k < got[r].size(); ++k) {
          EXPECT_EQ(got[r][k].shape, want[r][k].shape) << e.name;
          EXPECT_EQ(got[r][k].data, want[r][k].data) << e.name << " batch " << rows << " row " << r;
        }
      }
    }
  }
}

// tools/make_models' `products`: forward(x, w) = linear(x, w, b) +
// addmm(b, x, wt) + matmul(x, wt)^2 + linear(x, w0), not batched (X is
// [rows, 16], W [8, 16]): the products that survive freezing as themselves.
Loaded LoadProducts(const std::string& gemv) {
  Loaded l;
  auto spec = core::ParseModelConfig(
      "name: \"products\"\nbackend: \"pytorch\"\n"
      "input [ { name: \"X\" data_type: TYPE_FP32 dims: [ -1, 16 ] },\n"
      "        { name: \"W\" data_type: TYPE_FP32 dims: [ 8, 16 ] } ]\n"
      "output [ { name: \"Y\" data_type: TYPE_FP32 dims: [ -1, 8 ] } ]\n"
      "parameters [ { key: \"TIDE_SINGLE_ROW_GEMV\" value { string_value: \"" +
          gemv + "\" } } ]\n",
      "products/config.pbtxt", "products");
  EXPECT_TRUE(spec.ok()) << spec.status();
  l.spec = *spec;
  const std::string dir = std::string(TIDE_TEST_MODELS) + "/products";
  LoadContext ctx{&l.spec, dir, 1, dir + "/1", 1};
  auto model = LoadTorchScriptModel(ctx);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return l;
  l.model = std::move(*model);
  l.instance = std::move(*l.model->CreateInstance(0));
  return l;
}

TEST(SingleRowGemv, LinearAddmmAndLoneMatmulAreRewrittenAndAnswerAsBefore) {
  Loaded on = LoadProducts("true"), off = LoadProducts("false");
  ASSERT_TRUE(on.instance && off.instance);
  EXPECT_NE(on.model->Describe().find(
                "single-row GEMV: 4 ops rewritten (0 matmul+add, 2 matmul, 1 linear, 1 addmm);"),
            std::string::npos)
      << on.model->Describe();
  for (int rows : {1, 3}) {
    core::ModelSpec shapes = on.spec;
    shapes.inputs[0].dims = {rows, 16};
    std::vector<core::InferRequest> request = Rows(shapes, 1);
    request[0].inputs[0].shape = {rows, 16};  // not batched: the shape as given
    request[0].inputs[1].shape = {8, 16};
    auto got = Answers(on, request), want = Answers(off, request);
    ASSERT_EQ(got[0].size(), 1u);
    ASSERT_EQ(want[0].size(), 1u);
    EXPECT_EQ(got[0][0].shape, (std::vector<int64_t>{rows, 8}));
    std::vector<float> g = Floats(got[0][0]), w = Floats(want[0][0]);
    ASSERT_EQ(g.size(), static_cast<size_t>(rows * 8));
    ASSERT_EQ(w.size(), g.size());
    for (size_t i = 0; i < g.size(); ++i) {
      if (rows == 1) {
        EXPECT_NEAR(g[i], w[i], 1e-6 + 1e-5 * std::fabs(w[i])) << "element " << i;
      } else {
        EXPECT_EQ(g[i], w[i]) << rows << " rows, element " << i;
      }
    }
  }
}

TEST(SingleRowGemv, AValueOtherThanTrueOrFalseFailsTheLoad) {
  auto spec = core::LoadModelConfig(kExamples + "/mlp", "mlp");
  ASSERT_TRUE(spec.ok()) << spec.status();
  spec->parameters["TIDE_SINGLE_ROW_GEMV"] = "yes";
  LoadContext ctx{&*spec, kExamples + "/mlp", 1, kExamples + "/mlp/1", 1};
  auto model = LoadTorchScriptModel(ctx);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(model.status().message()),
            spec->path + ": parameters 'TIDE_SINGLE_ROW_GEMV' = 'yes': must be true or false");
}

}  // namespace
}  // namespace tide::backends
