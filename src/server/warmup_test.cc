#include "server/warmup.h"

#include <limits>

#include "gtest/gtest.h"

namespace tide::server {
namespace {

// Records the shape of each request's first input; every request succeeds.
class Recorder final : public core::ModelInstance {
 public:
  std::vector<core::ExecuteResult> Execute(const std::vector<const core::InferRequest*>& batch,
                                           core::ExecuteTimings*) override {
    for (const core::InferRequest* r : batch) {
      shapes.push_back(r->inputs[0].shape);
      bytes.push_back(r->inputs[0].data.size());
    }
    return std::vector<core::ExecuteResult>(batch.size(), std::vector<core::Tensor>{});
  }
  std::vector<std::vector<int64_t>> shapes;
  std::vector<size_t> bytes;
};

core::ModelSpec Spec(const std::string& text) {
  auto spec =
      core::ParseModelConfig("backend: \"simulated\" name: \"m\" " + text, "m/config.pbtxt", "m");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

std::vector<std::unique_ptr<core::ModelInstance>> Instances(int n) {
  std::vector<std::unique_ptr<core::ModelInstance>> out;
  for (int i = 0; i < n; ++i) out.push_back(std::make_unique<Recorder>());
  return out;
}

const Recorder& At(const std::vector<std::unique_ptr<core::ModelInstance>>& v, int i) {
  return static_cast<const Recorder&>(*v[i]);
}

TEST(WarmUp, RunsEachEntryCountTimesOnEveryInstance) {
  core::ModelSpec spec = Spec(
      "max_batch_size: 4 input { name: \"A\" data_type: TYPE_FP32 dims: [ -1, 3 ] }"
      " output { name: \"B\" data_type: TYPE_FP32 dims: [ -1, 3 ] }"
      " model_warmup { name: \"w\" batch_size: 2 count: 3"
      "   inputs { key: \"A\" value { data_type: TYPE_FP32 dims: [ 5, 3 ] random_data: true } } }"
      " model_warmup { name: \"x\" }");
  auto instances = Instances(2);
  ASSERT_TRUE(WarmUp(spec, instances).ok());
  const std::vector<std::vector<int64_t>> want = {{2, 5, 3}, {2, 5, 3}, {2, 5, 3}, {1, 1, 3}};
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(At(instances, i).shapes, want);
    EXPECT_EQ(At(instances, i).bytes, (std::vector<size_t>{120, 120, 120, 12}));
  }
}

TEST(WarmUp, DefaultRequestUsesMaxBatchSizeAndVariableDimsOfOne) {
  core::ModelSpec spec = Spec(
      "max_batch_size: 8 input { name: \"A\" data_type: TYPE_STRING dims: [ -1, 2 ] }"
      " output { name: \"B\" data_type: TYPE_STRING dims: [ -1, 2 ] }");
  auto instances = Instances(1);
  ASSERT_TRUE(WarmUp(spec, instances).ok());
  EXPECT_EQ(At(instances, 0).shapes, (std::vector<std::vector<int64_t>>{{8, 1, 2}}));
  EXPECT_EQ(At(instances, 0).bytes, (std::vector<size_t>{16 * 5}));
}

// Warm-up inputs are built from config numbers alone: above 2 GiB the load
// fails with a reason, before anything is allocated.
TEST(WarmUp, InputsOverTwoGibAreRefused) {
  struct Case {
    std::string text;
    std::string error;
  } cases[] = {
      {"input { name: \"A\" data_type: TYPE_FP32 dims: [ 1000000, 1000000 ] }"
       " output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }",
       "warm-up of 'm': input 'A' of shape [1000000,1000000] FP32 would take 4000000000000 "
       "bytes, more than the 2147483648 (2 GiB) allowed for one warm-up tensor"},
      {"input { name: \"A\" data_type: TYPE_INT8 dims: [ 2147483649 ] }"
       " output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }",
       "warm-up of 'm': input 'A' of shape [2147483649] INT8 would take 2147483649 bytes, more "
       "than the 2147483648 (2 GiB) allowed for one warm-up tensor"},
      // BYTES elements are written as 5 bytes each.
      {"input { name: \"A\" data_type: TYPE_STRING dims: [ 429496730 ] }"
       " output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }",
       "warm-up of 'm': input 'A' of shape [429496730] BYTES would take 2147483650 bytes, more "
       "than the 2147483648 (2 GiB) allowed for one warm-up tensor"},
      // A model_warmup entry's own dims and batch_size count too.
      {"max_batch_size: 4 input { name: \"A\" data_type: TYPE_FP32 dims: [ -1 ] }"
       " output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }"
       " model_warmup { batch_size: 4294967295 inputs { key: \"A\" value { dims: [ "
       "4294967295 ] } } }",
       "warm-up of 'm': input 'A' of shape [4294967295,4294967295] FP32 would take more than "
       "9223372036854775807 bytes, more than the 2147483648 (2 GiB) allowed for one warm-up "
       "tensor"},
  };
  for (const Case& c : cases) {
    auto instances = Instances(1);
    absl::Status s = WarmUp(Spec(c.text), instances);
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << c.text;
    EXPECT_EQ(std::string(s.message()), c.error);
    EXPECT_TRUE(At(instances, 0).shapes.empty());
  }
}

// A spec built in code, not parsed: the same bounds hold.
TEST(WarmUp, UnparsedSpecsAreBoundedToo) {
  core::ModelSpec spec = Spec(
      "input { name: \"A\" data_type: TYPE_FP32 dims: [ 1 ] }"
      " output { name: \"B\" data_type: TYPE_FP32 dims: [ 1 ] }");
  spec.inputs[0].dims = {std::numeric_limits<int64_t>::max(), 2};
  auto instances = Instances(1);
  absl::Status s = WarmUp(spec, instances);
  EXPECT_EQ(std::string(s.message()),
            "warm-up of 'm': input 'A' of shape [9223372036854775807,2] FP32 would take more than "
            "9223372036854775807 bytes, more than the 2147483648 (2 GiB) allowed for one warm-up "
            "tensor");
  spec.inputs[0].dims = {1};
  spec.proto.add_model_warmup()->set_count(1000000000);
  s = WarmUp(spec, instances);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "warm-up of 'm': model_warmup[0].count 1000000000 must be at most 1000");
  EXPECT_TRUE(At(instances, 0).shapes.empty());
}

}  // namespace
}  // namespace tide::server
