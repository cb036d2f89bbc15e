// The TorchScript backend on a real model written by tools/make_models:
// `raises` doubles its input and fails an assert on negative values.
// (The example models are tested end to end in
// tests/integration/torch_models_test.cc.)

#include "backends/torchscript/torchscript_backend.h"

#include <cstring>

#include "gtest/gtest.h"

namespace tide::backends {
namespace {

const std::string kModels = TIDE_TEST_MODELS;

std::string Config(const std::string& input_type, const std::string& output_type,
                   const std::string& extra_input = "") {
  return "name: \"raises\"\nbackend: \"pytorch\"\nmax_batch_size: 8\n"
         "input [ { name: \"X\" data_type: " +
         input_type + " dims: [ 4 ] }" + extra_input +
         " ]\n"
         "output [ { name: \"Y\" data_type: " +
         output_type + " dims: [ 4 ] } ]\n";
}

class Loaded {
 public:
  explicit Loaded(const std::string& config_text,
                  const std::string& version_dir = kModels + "/raises/1") {
    auto spec = core::ParseModelConfig(config_text, "raises/config.pbtxt", "raises");
    EXPECT_TRUE(spec.ok()) << spec.status();
    spec_ = *spec;
    LoadContext ctx{&spec_, kModels + "/raises", 1, version_dir, 2};
    model = LoadTorchScriptModel(ctx);
  }
  core::ModelSpec spec_;
  absl::StatusOr<std::unique_ptr<Model>> model;
};

core::InferRequest Request(std::vector<float> rows) {
  core::InferRequest r;
  core::Tensor t{"X", core::DataType::kFp32, {static_cast<int64_t>(rows.size() / 4), 4}, {}};
  t.data.assign(reinterpret_cast<const char*>(rows.data()), rows.size() * sizeof(float));
  r.inputs.push_back(std::move(t));
  return r;
}

std::vector<float> Floats(const core::Tensor& t) {
  std::vector<float> v(t.data.size() / sizeof(float));
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

TEST(TorchScriptBackend, ARequestThatMakesForwardRaiseFailsAloneInItsBatch) {
  Loaded m(Config("TYPE_FP32", "TYPE_FP32"));
  ASSERT_TRUE(m.model.ok()) << m.model.status();
  EXPECT_NE((*m.model)->Describe().find("inputs bound by order, outputs by order"),
            std::string::npos)
      << (*m.model)->Describe();
  auto inst = (*m.model)->CreateInstance(0);
  ASSERT_TRUE(inst.ok());
  core::InferRequest a = Request({1, 2, 3, 4});
  core::InferRequest bad = Request({1, 1, 1, 1, 5, -6, 7, 8});
  core::InferRequest c = Request({0.5, 0, 0, 0, 9, 9, 9, 9});
  core::ExecuteTimings timings;
  auto results = (*inst)->Execute({&a, &bad, &c}, &timings);
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  ASSERT_TRUE(results[2].ok()) << results[2].status();
  ASSERT_EQ(results[0]->size(), 1u);
  EXPECT_EQ((*results[0])[0].name, "Y");
  EXPECT_EQ((*results[0])[0].shape, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(Floats((*results[0])[0]), (std::vector<float>{2, 4, 6, 8}));
  EXPECT_EQ((*results[2])[0].shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(Floats((*results[2])[0]), (std::vector<float>{1, 0, 0, 0, 18, 18, 18, 18}));
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(results[1].status().message()), "AssertionError: negative input");
  EXPECT_GT(timings.infer, absl::ZeroDuration());
}

TEST(TorchScriptBackend, BatchedAndAloneGiveTheSameBytes) {
  Loaded m(Config("TYPE_FP32", "TYPE_FP32"));
  ASSERT_TRUE(m.model.ok()) << m.model.status();
  auto inst = (*m.model)->CreateInstance(0);
  core::InferRequest a = Request({1.5, 2.25, 3, 4}), b = Request({7, 8, 9, 10.125});
  auto together = (*inst)->Execute({&a, &b}, nullptr);
  auto alone = (*inst)->Execute({&b}, nullptr);
  ASSERT_TRUE(together[1].ok() && alone[0].ok());
  EXPECT_EQ((*together[1])[0].data, (*alone[0])[0].data);
  EXPECT_EQ(Floats((*alone[0])[0]), (std::vector<float>{14, 16, 18, 20.25}));
}

TEST(TorchScriptBackend, AMissingInputIsThatRequestsError) {
  Loaded m(Config("TYPE_FP32", "TYPE_FP32"));
  ASSERT_TRUE(m.model.ok()) << m.model.status();
  auto inst = (*m.model)->CreateInstance(0);
  core::InferRequest ok = Request({1, 2, 3, 4}), empty;
  auto results = (*inst)->Execute({&ok, &empty}, nullptr);
  ASSERT_TRUE(results[0].ok());
  EXPECT_EQ(std::string(results[1].status().message()), "missing input 'X'");
}

TEST(TorchScriptBackend, ARequestThatCannotJoinTheBatchFailsAlone) {
  Loaded m(Config("TYPE_FP32", "TYPE_FP32"));
  ASSERT_TRUE(m.model.ok()) << m.model.status();
  auto inst = (*m.model)->CreateInstance(0);
  core::InferRequest a = Request({1, 2, 3, 4}), c = Request({5, 6, 7, 8});
  core::InferRequest odd;
  odd.inputs.push_back(core::Tensor{"X", core::DataType::kFp32, {1, 2}, std::string(8, '\0')});
  auto results = (*inst)->Execute({&a, &odd, &c}, nullptr);
  ASSERT_TRUE(results[0].ok() && results[2].ok());
  EXPECT_EQ(Floats((*results[2])[0]), (std::vector<float>{10, 12, 14, 16}));
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(results[1].status().message()),
            "input 'X': shape [1,2] cannot be batched with the batch's [1,4]");
}

TEST(TorchScriptBackend, LoadErrorsSayWhatDisagrees) {
  struct Case {
    std::string config;
    std::string version_dir;
    std::string error;
  } cases[] = {
      {Config("TYPE_FP32", "TYPE_FP32", ", { name: \"Z\" data_type: TYPE_FP32 dims: [ 4 ] }"), "",
       "raises/config.pbtxt: config declares 2 inputs (X, Z) but the TorchScript model's "
       "forward(x) takes 1"},
      {Config("TYPE_FP32", "TYPE_INT64"), "",
       "raises/config.pbtxt: output 'Y': the model returns FP32 but config.pbtxt declares INT64"},
      {Config("TYPE_UINT32", "TYPE_FP32"), "",
       "raises/config.pbtxt: input 'X': TYPE_UINT32 has no libtorch tensor type (use BOOL, UINT8, "
       "INT8-64, FP16, FP32 or FP64)"},
      {Config("TYPE_FP32", "TYPE_FP32"), kModels + "/raises/7",
       "model 'raises' version 1: no TorchScript file " + kModels + "/raises/7/model.pt"},
  };
  for (const Case& c : cases) {
    Loaded m(c.config, c.version_dir.empty() ? kModels + "/raises/1" : c.version_dir);
    ASSERT_FALSE(m.model.ok()) << c.error;
    EXPECT_EQ(std::string(m.model.status().message()), c.error);
  }
}

}  // namespace
}  // namespace tide::backends
