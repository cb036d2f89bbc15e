#include "core/request_validator.h"

#include "gtest/gtest.h"

namespace tide::core {
namespace {

ModelSpec Simple() {
  auto spec = ParseModelConfig(
      "backend: \"simulated\" max_batch_size: 8"
      " input { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 16 ] }"
      " input { name: \"INPUT1\" data_type: TYPE_INT32 dims: [ -1 ] }"
      " output { name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [ 16 ] }",
      "simple/config.pbtxt", "simple");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

Tensor Int32(const std::string& name, std::vector<int64_t> shape) {
  Tensor t{name, DataType::kInt32, shape, {}};
  t.data.assign(static_cast<size_t>(ShapeElementCount(shape)) * 4, '\0');
  return t;
}

TEST(ValidateRequest, AcceptsAndComputesBatchAndShapeKey) {
  InferRequest r;
  r.inputs = {Int32("INPUT1", {3, 5}), Int32("INPUT0", {3, 16})};
  auto v = ValidateRequest(Simple(), r);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->batch_size, 3);
  EXPECT_EQ(v->shape_key, "INPUT0:16,;INPUT1:5,;");
}

struct Bad {
  std::vector<Tensor> inputs;
  std::vector<RequestedOutput> outputs;
  std::string error;
};

TEST(ValidateRequest, RejectsWithMessagesNamingTheProblem) {
  Tensor wrong_type = Int32("INPUT0", {1, 16});
  wrong_type.datatype = DataType::kFp32;
  Tensor short_data = Int32("INPUT0", {1, 16});
  short_data.data.resize(60);
  const Bad cases[] = {
      {{Int32("INPUT0", {1, 16})}, {}, "missing input 'INPUT1' for model 'simple'"},
      {{Int32("INPUT0", {1, 16}), Int32("INPUT1", {1, 2}), Int32("X", {1})},
       {},
       "unknown input 'X' for model 'simple' (inputs: INPUT0, INPUT1)"},
      {{wrong_type, Int32("INPUT1", {1, 2})},
       {},
       "input 'INPUT0': datatype FP32 does not match the model's INT32"},
      {{Int32("INPUT0", {1, 15}), Int32("INPUT1", {1, 2})},
       {},
       "input 'INPUT0': shape [1,15] does not match the model's [-1(batch),16]"},
      {{Int32("INPUT0", {16}), Int32("INPUT1", {1, 2})},
       {},
       "input 'INPUT0': shape [16] does not match the model's [-1(batch),16]"},
      {{Int32("INPUT0", {9, 16}), Int32("INPUT1", {9, 2})},
       {},
       "input 'INPUT0': batch size 9 is outside 1..8 (max_batch_size)"},
      {{Int32("INPUT0", {2, 16}), Int32("INPUT1", {1, 2})},
       {},
       "input 'INPUT1': batch size 1 differs from other inputs' 2"},
      {{short_data, Int32("INPUT1", {1, 2})},
       {},
       "input 'INPUT0': shape [1,16] of INT32 needs 64 bytes, got 60"},
      {{Int32("INPUT0", {1, 16}), Int32("INPUT1", {1, 2})},
       {{"NOPE", false}},
       "unknown requested output 'NOPE' for model 'simple'"},
      {{Int32("INPUT0", {1, 16}), Int32("INPUT0", {1, 16})}, {}, "input 'INPUT0' is given twice"},
      {{Int32("INPUT0", {1, 16}), Int32("INPUT1", {1, 2})},
       {{"OUTPUT0", false}, {"OUTPUT0", true}},
       "output 'OUTPUT0' is requested twice"},
      // A -1 dim takes any size but not a negative one; extra dims are refused.
      {{Int32("INPUT0", {1, 16}), Tensor{"INPUT1", DataType::kInt32, {1, -2}, {}}},
       {},
       "input 'INPUT1': shape [1,-2] does not match the model's [-1(batch),-1]"},
      {{Int32("INPUT0", {1, 16}), Int32("INPUT1", {1, 2, 1})},
       {},
       "input 'INPUT1': shape [1,2,1] does not match the model's [-1(batch),-1]"},
      {{Int32("INPUT0", {1, 16, 1}), Int32("INPUT1", {1, 2})},
       {},
       "input 'INPUT0': shape [1,16,1] does not match the model's [-1(batch),16]"},
  };
  ModelSpec spec = Simple();
  for (const Bad& c : cases) {
    InferRequest r;
    r.inputs = c.inputs;
    r.outputs = c.outputs;
    auto v = ValidateRequest(spec, r);
    ASSERT_FALSE(v.ok()) << c.error;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(v.status().message()), c.error);
  }
}

TEST(ValidateRequest, NonBatchingModelTakesShapeAsIs) {
  auto spec = ParseModelConfig(
      "backend: \"simulated\" input { name: \"A\" data_type: TYPE_FP32 dims: [ 2, 2 ] }"
      " output { name: \"B\" data_type: TYPE_FP32 dims: [ 2, 2 ] }",
      "m/config.pbtxt", "m");
  ASSERT_TRUE(spec.ok());
  InferRequest r;
  r.inputs = {Tensor{"A", DataType::kFp32, {2, 2}, std::string(16, '\0')}};
  auto v = ValidateRequest(*spec, r);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->batch_size, 1);
  // Fixed dims, no optional input: every valid request has these shapes.
  EXPECT_EQ(v->shape_key, "");
}

TEST(ValidateRequest, ShapeKeyOnlyWhereShapesOrPresenceCanDiffer) {
  // Fixed dims and required inputs: no key, whatever the client's order.
  auto fixed = ParseModelConfig(
      "backend: \"simulated\" max_batch_size: 8"
      " input { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 16 ] }"
      " input { name: \"INPUT1\" data_type: TYPE_INT32 dims: [ 4, 2 ] }"
      " output { name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [ 16 ] }",
      "f/config.pbtxt", "f");
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  InferRequest r;
  r.inputs = {Int32("INPUT1", {2, 4, 2}), Int32("INPUT0", {2, 16})};
  auto v = ValidateRequest(*fixed, r);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->batch_size, 2);
  EXPECT_EQ(v->shape_key, "");

  // An optional input: a request without it must not share a batch with one
  // that has it, so the keys differ.
  auto optional = ParseModelConfig(
      "backend: \"simulated\" max_batch_size: 8"
      " input { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 16 ] }"
      " input { name: \"MASK\" data_type: TYPE_INT32 dims: [ 16 ] optional: true }"
      " output { name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [ 16 ] }",
      "o/config.pbtxt", "o");
  ASSERT_TRUE(optional.ok()) << optional.status();
  InferRequest with, without;
  with.inputs = {Int32("MASK", {1, 16}), Int32("INPUT0", {1, 16})};
  without.inputs = {Int32("INPUT0", {1, 16})};
  auto a = ValidateRequest(*optional, with);
  auto b = ValidateRequest(*optional, without);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->shape_key, "INPUT0:16,;MASK:16,;");
  EXPECT_EQ(b->shape_key, "INPUT0:16,;");
}

}  // namespace
}  // namespace tide::core
