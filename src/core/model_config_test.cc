#include "core/model_config.h"

#include "gtest/gtest.h"

namespace tide::core {
namespace {

constexpr char kSimple[] = R"pb(
  name: "simple"
  backend: "simulated"
  max_batch_size: 8 input
  [ {
    name: "INPUT0"
    data_type: TYPE_INT32
    dims: [ 16 ]
  }
    , {
      name: "INPUT1"
      data_type: TYPE_INT32
      dims: [ 16 ]
    }] output
  [ {
    name: "OUTPUT0"
    data_type: TYPE_INT32
    dims: [ 16 ]
  }
    , {
      name: "OUTPUT1"
      data_type: TYPE_INT32
      dims: [ 16 ]
    }] instance_group
  [ { count: 2 kind: KIND_CPU }]
  dynamic_batching {
    preferred_batch_size: [ 8, 4 ]
    max_queue_delay_microseconds: 500
    default_queue_policy { max_queue_size: 32 default_timeout_microseconds: 2000000 }
  }
  parameters {
    key: "mode"
    value { string_value: "add_sub" }
  }
)pb";

TEST(ModelConfig, ParsesTritonFields) {
  auto spec = ParseModelConfig(kSimple, "repo/simple/config.pbtxt", "simple");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "simple");
  EXPECT_EQ(spec->backend, "simulated");
  EXPECT_EQ(spec->max_batch_size, 8);
  ASSERT_EQ(spec->inputs.size(), 2u);
  EXPECT_EQ(spec->inputs[1].name, "INPUT1");
  EXPECT_EQ(spec->inputs[1].datatype, DataType::kInt32);
  EXPECT_EQ(spec->inputs[1].dims, (std::vector<int64_t>{16}));
  EXPECT_EQ(spec->instance_count, 2);
  EXPECT_TRUE(spec->batching.dynamic);
  EXPECT_EQ(spec->batching.preferred_batch_sizes, (std::vector<int32_t>{4, 8}));
  EXPECT_EQ(spec->batching.max_queue_delay, absl::Microseconds(500));
  EXPECT_EQ(spec->batching.max_queue_size, 32u);
  EXPECT_EQ(spec->batching.default_timeout, absl::Seconds(2));
  EXPECT_EQ(spec->parameters.at("mode"), "add_sub");
  EXPECT_EQ(spec->version_policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_TRUE(spec->warnings.empty());
}

TEST(ModelConfig, PlatformMapsToBackend) {
  auto spec = ParseModelConfig(
      "platform: \"pytorch_libtorch\" input { name: \"INPUT__0\" data_type: TYPE_FP32 dims: 4 }"
      " output { name: \"OUTPUT__0\" data_type: TYPE_FP32 dims: 2 }",
      "m/config.pbtxt", "m");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "m");
  EXPECT_EQ(spec->backend, "pytorch");
  EXPECT_EQ(spec->instance_count, 1);
}

TEST(ModelConfig, UnknownFieldIsAWarningNotAnError) {
  auto spec = ParseModelConfig(
      "backend: \"simulated\"\n"
      "optimization { cuda { graphs: true } }\n"
      "input { name: \"A\" data_type: TYPE_FP32 dims: 1 }\n"
      "output { name: \"B\" data_type: TYPE_FP32 dims: 1 }\n",
      "m/config.pbtxt", "m");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->warnings.size(), 1u);
  EXPECT_NE(spec->warnings[0].find("m/config.pbtxt:2:"), std::string::npos) << spec->warnings[0];
  EXPECT_NE(spec->warnings[0].find("optimization"), std::string::npos) << spec->warnings[0];
}

struct BadCase {
  const char* text;
  const char* error;  // exact message
};

TEST(ModelConfig, ErrorsNameFileFieldAndLine) {
  const BadCase cases[] = {
      {"backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: 1 }\n"
       "output { name: \"B\" data_type: TYPE_FP32 dims: [ 0 ] }\n",
       "m/config.pbtxt:3:41: field 'output[0].dims[0]': 0 is not a valid dim (use a size >= 1, "
       "or -1 for a variable size)"},
      {"name: \"other\"\nbackend: \"simulated\"\n",
       "m/config.pbtxt:1:1: field 'name': 'other' must match the model's folder name 'm'"},
      {"input { name: \"A\" data_type: TYPE_FP32 dims: 1 }\n"
       "output { name: \"B\" data_type: TYPE_FP32 dims: 1 }\n",
       "m/config.pbtxt: field 'backend': neither 'backend' nor 'platform' is set (e.g. backend: "
       "\"simulated\" or platform: \"pytorch_libtorch\")"},
      {"backend: \"simulated\"\nmax_batch_size: -2\n",
       "m/config.pbtxt:2:1: field 'max_batch_size': -2 must be >= 0"},
      {"backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: 1 reshape { shape: "
       "1 } }\n"
       "output { name: \"B\" data_type: TYPE_FP32 dims: 1 }\n",
       "m/config.pbtxt:2:48: field 'input[0].reshape': reshape is not supported by tide; give dims "
       "in the model's own shape"},
      {"backend: \"simulated\"\nmax_batch_size: 4\ninput { name: \"A\" data_type: TYPE_FP32 dims: "
       "1 }\n"
       "output { name: \"B\" data_type: TYPE_FP32 dims: 1 }\n"
       "dynamic_batching { preferred_batch_size: [ 2, 8 ] }\n",
       "m/config.pbtxt:5:20: field 'dynamic_batching.preferred_batch_size[1]': 8 must be between 1 "
       "and max_batch_size (4)"},
      {"backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: 1 }\n"
       "input { name: \"A\" data_type: TYPE_FP32 dims: 1 }\noutput { name: \"B\" data_type: "
       "TYPE_FP32 dims: 1 }\n",
       "m/config.pbtxt:3:1: field 'input[1].name': duplicate input name 'A'"},
      {"backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: 1 }\n"
       "output { name: \"B\" data_type: TYPE_FP32 dims: 1 }\ninstance_group { kind: KIND_GPU }\n",
       "m/config.pbtxt:4:18: field 'instance_group[0].kind': KIND_GPU is not supported by this "
       "build (Debian's libtorch is CPU-only); use KIND_CPU"},
      {"backend: \"simulated\"\nmax_batch_size: \"eight\"\n",
       "m/config.pbtxt:2:17: Expected integer, got: \"eight\""},
  };
  for (const BadCase& c : cases) {
    auto spec = ParseModelConfig(c.text, "m/config.pbtxt", "m");
    ASSERT_FALSE(spec.ok()) << c.text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(spec.status().message()), c.error);
  }
}

TEST(ModelConfig, VersionPolicies) {
  auto spec = ParseModelConfig(
      "backend: \"simulated\" version_policy { specific { versions: [1, 3] } }"
      " input { name: \"A\" data_type: TYPE_FP32 dims: 1 }"
      " output { name: \"B\" data_type: TYPE_FP32 dims: 1 }",
      "m/config.pbtxt", "m");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->version_policy.kind, VersionPolicy::Kind::kSpecific);
  EXPECT_EQ(spec->version_policy.versions, (std::vector<int64_t>{1, 3}));
}

// Sizes computed from dims must fit in int64: dims that overflow are refused
// where they are written, not when something allocates from them.
TEST(ModelConfig, TensorSizesThatOverflowAreRefused) {
  const BadCase cases[] = {
      {"backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: [ "
       "9223372036854775807, 2 ] }\noutput { name: \"B\" data_type: TYPE_FP32 dims: 1 }\n",
       "m/config.pbtxt:2:40: field 'input[0].dims': [9223372036854775807,2] is too large (the "
       "tensor's byte size overflows a 64-bit integer)"},
      // The product fits, the byte size (x 4) does not.
      {"backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: 1 }\n"
       "output { name: \"B\" data_type: TYPE_FP32 dims: [ 4611686018427387904 ] }\n",
       "m/config.pbtxt:3:41: field 'output[0].dims': [4611686018427387904] is too large (the "
       "tensor's byte size overflows a 64-bit integer)"},
      // Only with max_batch_size does it overflow; -1 counts as 1.
      {"backend: \"simulated\"\nmax_batch_size: 8\ninput { name: \"A\" data_type: TYPE_INT8 "
       "dims: [ -1, 2305843009213693952 ] }\noutput { name: \"B\" data_type: TYPE_FP32 dims: 1 "
       "}\n",
       "m/config.pbtxt:3:40: field 'input[0].dims': [-1,2305843009213693952] with max_batch_size "
       "8 is too large (the tensor's byte size overflows a 64-bit integer)"},
      // BYTES counts 4 bytes (its length prefix) per element.
      {"backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_STRING dims: [ "
       "2305843009213693952 ] }\noutput { name: \"B\" data_type: TYPE_FP32 dims: 1 }\n",
       "m/config.pbtxt:2:42: field 'input[0].dims': [2305843009213693952] is too large (the "
       "tensor's byte size overflows a 64-bit integer)"},
  };
  for (const BadCase& c : cases) {
    auto spec = ParseModelConfig(c.text, "m/config.pbtxt", "m");
    ASSERT_FALSE(spec.ok()) << c.text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(spec.status().message()), c.error);
  }
  // Large but addressable dims are the warm-up's to bound, not the config's.
  auto big = ParseModelConfig(
      "backend: \"simulated\" max_batch_size: 8"
      " input { name: \"A\" data_type: TYPE_FP64 dims: [ 1000000, 1000000 ] }"
      " output { name: \"B\" data_type: TYPE_FP32 dims: [ 288230376151711743 ] }",
      "m/config.pbtxt", "m");
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->inputs[0].dims, (std::vector<int64_t>{1000000, 1000000}));
}

TEST(ModelConfig, WarmupCountIsBounded) {
  const std::string io =
      "backend: \"simulated\"\ninput { name: \"A\" data_type: TYPE_FP32 dims: 1 }\n"
      "output { name: \"B\" data_type: TYPE_FP32 dims: 1 }\n";
  auto spec = ParseModelConfig(io + "model_warmup { name: \"w\" count: 1000 }\n"
                                    "model_warmup { name: \"x\" count: 1000000000 }\n",
                               "m/config.pbtxt", "m");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(spec.status().message()),
            "m/config.pbtxt:5:26: field 'model_warmup[1].count': 1000000000 must be at most 1000");
  auto ok =
      ParseModelConfig(io + "model_warmup { name: \"w\" count: 1000 }\n", "m/config.pbtxt", "m");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->proto.model_warmup(0).count(), kMaxWarmupCount);
}

TEST(ModelConfigJson, TritonsJsonFormWithDefaultsAndNumbers) {
  auto spec = ParseModelConfig(R"pb(
                                 platform: "pytorch_libtorch"
                                 max_batch_size: 8
                                 input {
                                   name: "IN"
                                   data_type: TYPE_FP32
                                   dims: [ -1, 16 ]
                                 }
                                 output {
                                   name: "OUT"
                                   data_type: TYPE_INT64
                                   dims: [ 4 ]
                                 }
                                 instance_group { count: 2 kind: KIND_CPU }
                                 dynamic_batching { max_queue_delay_microseconds: 500 }
                                 parameters {
                                   key: "b"
                                   value { string_value: "2" }
                                 }
                                 parameters {
                                   key: "a"
                                   value { string_value: "x\"y" }
                                 }
                               )pb",
                               "m/config.pbtxt", "m");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(
      ModelConfigJson(*spec),
      R"({"name":"m","platform":"pytorch_libtorch","backend":"pytorch","max_batch_size":8,)"
      R"("input":[{"name":"IN","data_type":"TYPE_FP32","dims":[-1,16],"optional":false}],)"
      R"("output":[{"name":"OUT","data_type":"TYPE_INT64","dims":[4],"label_filename":""}],)"
      R"("instance_group":[{"name":"","kind":"KIND_CPU","count":2,"gpus":[]}],)"
      R"("dynamic_batching":{"preferred_batch_size":[],"max_queue_delay_microseconds":500,)"
      R"("preserve_ordering":false},)"
      R"("parameters":{"a":{"string_value":"x\"y"},"b":{"string_value":"2"}},"model_warmup":[]})");
}

}  // namespace
}  // namespace tide::core
