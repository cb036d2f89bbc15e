#include "frontends/http/v2_codec.h"

#include <cstring>

#include "gtest/gtest.h"

namespace tide::http {
namespace {

template <typename T>
std::vector<T> As(const core::Tensor& t) {
  std::vector<T> v(t.data.size() / sizeof(T));
  std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

TEST(DecodeInferRequest, FlatAndNestedDataEveryType) {
  auto r = DecodeInferRequest(R"({"id":"42","parameters":{"binary_data_output":false},"inputs":[
    {"name":"A","datatype":"INT32","shape":[2,2],"data":[[1,2],[3,-4]]},
    {"name":"B","datatype":"FP32","shape":[3],"data":[1.5,2,-0.25]},
    {"name":"C","datatype":"BOOL","shape":[2],"data":[true,false]},
    {"name":"D","datatype":"BYTES","shape":[2],"data":["hi",""]},
    {"name":"E","datatype":"UINT64","shape":[1],"data":[18446744073709551615]},
    {"name":"F","datatype":"INT8","shape":[2],"data":[-128,127]},
    {"name":"G","datatype":"FP16","shape":[2],"data":[1.0,-2.5]},
    {"name":"H","datatype":"FP64","shape":[1],"data":[0.1]}],
    "outputs":[{"name":"X","parameters":{"binary_data":true}},{"name":"Y"}]})",
                              std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "42");
  ASSERT_EQ(r->inputs.size(), 8u);
  EXPECT_EQ(As<int32_t>(r->inputs[0]), (std::vector<int32_t>{1, 2, 3, -4}));
  EXPECT_EQ(r->inputs[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(As<float>(r->inputs[1]), (std::vector<float>{1.5f, 2.0f, -0.25f}));
  EXPECT_EQ(As<uint8_t>(r->inputs[2]), (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(r->inputs[3].data, std::string("\x02\x00\x00\x00hi\x00\x00\x00\x00", 10));
  EXPECT_EQ(As<uint64_t>(r->inputs[4]), (std::vector<uint64_t>{18446744073709551615ull}));
  EXPECT_EQ(As<int8_t>(r->inputs[5]), (std::vector<int8_t>{-128, 127}));
  EXPECT_EQ(As<uint16_t>(r->inputs[6]), (std::vector<uint16_t>{0x3c00, 0xc100}));
  EXPECT_EQ(As<double>(r->inputs[7]), (std::vector<double>{0.1}));
  ASSERT_EQ(r->outputs.size(), 2u);
  EXPECT_TRUE(r->outputs[0].binary);
  EXPECT_FALSE(r->outputs[1].binary);
}

TEST(DecodeInferRequest, BinaryTensorExtension) {
  std::string header =
      R"({"inputs":[{"name":"A","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}},)"
      R"({"name":"B","datatype":"INT32","shape":[1],"data":[9]}]})";
  int32_t a[2] = {7, -7};
  std::string body = header + std::string(reinterpret_cast<char*>(a), 8);
  auto r = DecodeInferRequest(body, header.size());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(As<int32_t>(r->inputs[0]), (std::vector<int32_t>{7, -7}));
  EXPECT_EQ(As<int32_t>(r->inputs[1]), (std::vector<int32_t>{9}));
}

// Marks a case whose header length is the JSON part (up to the last '}').
constexpr size_t kJsonPart = static_cast<size_t>(-1);

TEST(DecodeInferRequest, ErrorsNameTheProblem) {
  struct Case {
    std::string body;
    std::optional<size_t> header_length;
    std::string error;
  } cases[] = {
      {"{", std::nullopt,
       "request body is not valid JSON: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {"[]", std::nullopt, "request body must be a JSON object"},
      {"{}", std::nullopt, "request needs an 'inputs' array"},
      {R"({"inputs":[{"datatype":"INT32","shape":[1],"data":[1]}]})", std::nullopt,
       "inputs[0] needs a string 'name'"},
      {R"({"inputs":[{"name":"A","datatype":"INT33","shape":[1],"data":[1]}]})", std::nullopt,
       "input 'A': unknown datatype 'INT33' (use BOOL, INT8..64, UINT8..64, FP16, FP32, FP64 or "
       "BYTES)"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[3],"data":[1,2]}]})", std::nullopt,
       "input 'A': shape [3] needs 3 elements, data has 2"},
      {R"({"inputs":[{"name":"A","datatype":"INT8","shape":[1],"data":[300]}]})", std::nullopt,
       "input 'A': 300 is out of range for INT8"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[1],"data":["x"]}]})", std::nullopt,
       "input 'A': data holds a string where an integer is expected for INT32"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[1],"data":[1.5]}]})", std::nullopt,
       "input 'A': data holds a fractional number where an integer is expected for INT32"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[-1],"data":[1]}]})", std::nullopt,
       "input 'A': shape must hold non-negative integers"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[1]}]})", std::nullopt,
       "input 'A' has no 'data' (nor binary_data_size)"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}}]})",
       std::nullopt,
       "input 'A' has binary_data_size but the request has no Inference-Header-Content-Length "
       "header"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]})"
       "1234",
       kJsonPart,
       "input 'A': binary_data_size 8 runs past the end of the body (4 binary bytes left)"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}}]})"
       "12345",
       kJsonPart, "1 bytes of binary data are not claimed by any input's binary_data_size"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":4}}]})"
       "1234",
       kJsonPart, "input 'A': shape [2] of INT32 needs 8 bytes, got 4"},
      {R"({"inputs":[],"outputs":[{"name":"X","parameters":{"binary_data":1}}]})", std::nullopt,
       "output 'X' parameter 'binary_data' must be true or false"},
      {"{}", 10, "Inference-Header-Content-Length 10 is larger than the body (2 bytes)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    std::optional<size_t> hl = c.header_length;
    if (hl == kJsonPart) hl = c.body.rfind('}') + 1;
    auto r = DecodeInferRequest(c.body, hl);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(r.status().message()), c.error);
  }
}

TEST(EncodeInferResponse, JsonAndBinaryOutputs) {
  core::InferResponse r;
  r.id = "7";
  r.model_name = "simple";
  r.model_version = "1";
  int32_t v[3] = {1, -2, 3};
  float f[2] = {0.5f, 0.1f};
  r.outputs.push_back(
      {"A", core::DataType::kInt32, {1, 3}, std::string(reinterpret_cast<char*>(v), 12)});
  r.outputs.push_back(
      {"B", core::DataType::kFp32, {2}, std::string(reinterpret_cast<char*>(f), 8)});
  r.outputs.push_back({"S",
                       core::DataType::kBytes,
                       {1},
                       std::string("\x03\x00\x00\x00"
                                   "a\"b",
                                   7)});
  r.binary = {false, false, false};
  EncodedResponse e = EncodeInferResponse(r);
  EXPECT_FALSE(e.header_length.has_value());
  EXPECT_EQ(e.body, R"({"model_name":"simple","model_version":"1","id":"7","outputs":[)"
                    R"({"name":"A","datatype":"INT32","shape":[1,3],"data":[1,-2,3]},)"
                    R"({"name":"B","datatype":"FP32","shape":[2],"data":[0.5,0.1]},)"
                    R"({"name":"S","datatype":"BYTES","shape":[1],"data":["a\"b"]}]})");
  r.binary = {true, false, false};
  e = EncodeInferResponse(r);
  ASSERT_TRUE(e.header_length.has_value());
  std::string json = e.body.substr(0, *e.header_length);
  const std::string want_prefix =
      R"({"model_name":"simple","model_version":"1","id":"7","outputs":[)"
      R"({"name":"A","datatype":"INT32","shape":[1,3],"parameters":{"binary_data_size":12}},)";
  EXPECT_EQ(json.substr(0, want_prefix.size()), want_prefix);
  EXPECT_EQ(e.body.substr(*e.header_length), std::string(reinterpret_cast<char*>(v), 12));
}

}  // namespace
}  // namespace tide::http
