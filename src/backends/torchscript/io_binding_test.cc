#include "backends/torchscript/io_binding.h"

#include "gtest/gtest.h"

namespace tide::backends::torchscript {
namespace {

core::ModelSpec Spec(std::vector<std::string> inputs, std::vector<std::string> outputs) {
  core::ModelSpec s;
  s.path = "m/config.pbtxt";
  for (auto& n : inputs) s.inputs.push_back({n, core::DataType::kFp32, {4}});
  for (auto& n : outputs) s.outputs.push_back({n, core::DataType::kFp32, {4}});
  return s;
}

ForwardSignature Sig(std::vector<std::string> args, int required, int results) {
  return {std::move(args), required, results};
}

TEST(NamingConventionIndex, ParsesTheTrailingIndex) {
  struct Case {
    const char* name;
    int want;
  } cases[] = {{"INPUT__0", 0}, {"INPUT__12", 12},  {"a__b__3", 3},  {"INPUT0", -1},
               {"INPUT__", -1}, {"INPUT__x", -1},   {"INPUT_1", -1}, {"__2", 2},
               {"X__-1", -1},   {"X__99999999", -1}};
  for (const Case& c : cases) EXPECT_EQ(NamingConventionIndex(c.name), c.want) << c.name;
}

TEST(BindInputs, RulesInTritonsOrder) {
  struct Case {
    std::vector<std::string> config;
    std::vector<std::string> args;
    BindRule rule;
    std::vector<int> index;
  } cases[] = {
      // Names of forward()'s arguments win, in any order.
      {{"b", "a"}, {"a", "b"}, BindRule::kByName, {1, 0}},
      // Then the __<i> convention.
      {{"INPUT__1", "INPUT__0"}, {"x", "y"}, BindRule::kByIndex, {1, 0}},
      // Then the config's order (Triton's quickstart names on simple).
      {{"INPUT0", "INPUT1"}, {"a", "b"}, BindRule::kByOrder, {0, 1}},
      // A convention index out of range falls back to order.
      {{"INPUT__5", "INPUT__0"}, {"x", "y"}, BindRule::kByOrder, {0, 1}},
      // Duplicate indices too.
      {{"A__0", "B__0"}, {"x", "y"}, BindRule::kByOrder, {0, 1}},
  };
  for (const Case& c : cases) {
    auto b =
        BindInputs(Spec(c.config, {"OUTPUT__0"}), Sig(c.args, static_cast<int>(c.args.size()), 1));
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->rule, c.rule) << c.config[0];
    EXPECT_EQ(b->index, c.index) << c.config[0];
  }
}

TEST(BindInputs, CountMismatchNamesBothSides) {
  auto b = BindInputs(Spec({"INPUT0", "INPUT1", "INPUT2"}, {"Y"}), Sig({"a", "b"}, 2, 2));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(b.status().message()),
            "m/config.pbtxt: config declares 3 inputs (INPUT0, INPUT1, INPUT2) but the TorchScript "
            "model's forward(a, b) takes 2");
  auto few = BindInputs(Spec({"x"}, {"Y"}), Sig({"x", "y", "z"}, 2, 1));
  ASSERT_FALSE(few.ok());
  EXPECT_EQ(
      std::string(few.status().message()),
      "m/config.pbtxt: config declares 1 input (x) but the TorchScript model's forward(x, y, z) "
      "takes 2 to 3");
}

TEST(BindInputs, ArgumentsWithDefaultsMayBeLeftOut) {
  auto b = BindInputs(Spec({"x"}, {"Y"}), Sig({"x", "scale"}, 1, 1));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->index, std::vector<int>{0});
  // ...but not a required one, even when the count fits.
  auto missing = BindInputs(Spec({"scale"}, {"Y"}), Sig({"x", "scale"}, 1, 1));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(std::string(missing.status().message()),
            "m/config.pbtxt: no config input binds to argument 'x' of forward(x, scale) (binding "
            "by name)");
}

TEST(BindOutputs, ByIndexOrByOrderWithCountCheck) {
  auto idx = BindOutputs(Spec({"x"}, {"OUTPUT__1", "OUTPUT__0"}), Sig({"x"}, 1, 2));
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(idx->rule, BindRule::kByIndex);
  EXPECT_EQ(idx->index, (std::vector<int>{1, 0}));
  auto order = BindOutputs(Spec({"x"}, {"OUTPUT0", "OUTPUT1"}), Sig({"x"}, 1, 2));
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->rule, BindRule::kByOrder);
  EXPECT_EQ(order->index, (std::vector<int>{0, 1}));
  // A list result: the count is only known when forward() runs.
  EXPECT_TRUE(BindOutputs(Spec({"x"}, {"A", "B", "C"}), Sig({"x"}, 1, -1)).ok());
  auto bad = BindOutputs(Spec({"x"}, {"OUTPUT0", "OUTPUT1"}), Sig({"x"}, 1, 1));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(
      std::string(bad.status().message()),
      "m/config.pbtxt: config declares 2 outputs (OUTPUT0, OUTPUT1) but the TorchScript model's "
      "forward() returns 1 tensor");
}

TEST(ResolveThreads, DefaultSharesTheCoresAmongInstances) {
  struct Case {
    int cpus, instances, want;
  } cases[] = {{2, 1, 2}, {2, 2, 1}, {2, 3, 1}, {16, 4, 4}, {0, 1, 1}};
  for (const Case& c : cases) {
    core::ModelSpec s = Spec({"x"}, {"y"});
    s.instance_count = c.instances;
    auto t = ResolveThreads(s, c.cpus);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->intra_op, c.want) << c.cpus << " cpus, " << c.instances << " instances";
    EXPECT_EQ(t->inter_op, 1);
  }
}

TEST(ResolveThreads, ParametersOverrideAndAreChecked) {
  core::ModelSpec s = Spec({"x"}, {"y"});
  s.parameters = {{"INTRA_OP_THREAD_COUNT", "3"}, {"INTER_OP_THREAD_COUNT", "2"}};
  auto t = ResolveThreads(s, 2);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->intra_op, 3);
  EXPECT_EQ(t->inter_op, 2);
  s.parameters = {{"INTRA_OP_THREAD_COUNT", "0"}};
  EXPECT_EQ(std::string(ResolveThreads(s, 2).status().message()),
            "m/config.pbtxt: parameters 'INTRA_OP_THREAD_COUNT' = '0': must be an integer from 1 "
            "to 1024");
}

TEST(TorchErrorSummary, PicksTheMeaningfulLine) {
  EXPECT_EQ(TorchErrorSummary(
                "mat1 and mat2 shapes cannot be multiplied (1x3 and 784x512)\n"
                "Exception raised from meta at ../aten/src/ATen/native/LinearAlgebra.cpp:1\n"),
            "mat1 and mat2 shapes cannot be multiplied (1x3 and 784x512)");
  // libtorch 1.13's interpreter messages, as thrown by forward().
  EXPECT_EQ(TorchErrorSummary("The following operation failed in the TorchScript interpreter.\n"
                              "Traceback of TorchScript (most recent call last):\n"
                              "RuntimeError: expected scalar type Int but found Float\n"),
            "expected scalar type Int but found Float");
  EXPECT_EQ(TorchErrorSummary("The following operation failed in the TorchScript interpreter.\n"
                              "Traceback of TorchScript, serialized code (most recent call last):\n"
                              "  File \"code/__torch__.py\", line 12, in forward\n"
                              "      ops.prim.RaiseException(\"AssertionError: negative input\")\n"
                              "      ~~~~~~~~~~~~~~~~~~~~~~~ <--- HERE\n\n"
                              "    assert not bool((x < 0).any()), \"negative input\"\n"
                              "RuntimeError: AssertionError: negative input\n"),
            "AssertionError: negative input");
  EXPECT_EQ(TorchErrorSummary(""), "unknown libtorch error");
}

}  // namespace
}  // namespace tide::backends::torchscript
