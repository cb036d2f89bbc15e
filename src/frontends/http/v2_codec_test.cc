#include "frontends/http/v2_codec.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
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
      // A claimed shape is checked against the body before anything is
      // allocated for it (this one used to reserve 16 GiB).
      {R"({"inputs":[{"name":"x","datatype":"INT64","shape":[2147483647],"data":[1]}]})",
       std::nullopt,
       "input 'x': shape [2147483647] needs 2147483647 elements, more than a JSON body of 76 "
       "bytes can hold"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[40,1],"data":[[1],[2]]}]})",
       std::nullopt,
       "input 'x': shape [40,1] needs 40 elements, more than a JSON body of 75 bytes can hold"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[4294967296,4294967296],"data":[1]}]})",
       std::nullopt, "input 'A': shape [4294967296,4294967296] is too large"},
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[1,9223372036854775808],"data":[1]}]})",
       std::nullopt, "input 'A': shape must hold non-negative integers"},
      // 2^61 INT64 elements are 2^64 bytes: the byte count must not wrap to 0.
      {R"({"inputs":[{"name":"A","datatype":"INT64","shape":[2305843009213693952],"parameters":{"binary_data_size":0}}]})",
       kJsonPart, "input 'A': shape [2305843009213693952] of INT64 is too large"},
      // Values out of the datatype's range.
      {R"({"inputs":[{"name":"A","datatype":"FP32","shape":[2],"data":[1,1e39]}]})", std::nullopt,
       "input 'A': 1e+39 is out of range for FP32"},
      {R"({"inputs":[{"name":"A","datatype":"FP32","shape":[1,1],"data":[[-1e39]]}]})",
       std::nullopt, "input 'A': -1e+39 is out of range for FP32"},
      {R"({"inputs":[{"name":"A","datatype":"FP16","shape":[1],"data":[65520]}]})", std::nullopt,
       "input 'A': 65520 is out of range for FP16"},
      {R"({"inputs":[{"name":"A","datatype":"FP16","shape":[1],"data":[-1e5]}]})", std::nullopt,
       "input 'A': -100000 is out of range for FP16"},
      {R"({"inputs":[{"name":"A","datatype":"UINT8","shape":[1],"data":[-1]}]})", std::nullopt,
       "input 'A': -1 is out of range for UINT8"},
      {R"({"inputs":[{"name":"A","datatype":"INT16","shape":[1],"data":[-32769]}]})", std::nullopt,
       "input 'A': -32769 is out of range for INT16"},
      {R"({"inputs":[{"name":"A","datatype":"UINT32","shape":[1],"data":[4294967296]}]})",
       std::nullopt, "input 'A': 4294967296 is out of range for UINT32"},
      {R"({"inputs":[{"name":"A","datatype":"INT64","shape":[1],"data":[9223372036854775808]}]})",
       std::nullopt, "input 'A': 9223372036854775808 is out of range for INT64"},
      {R"({"inputs":[{"name":"A","datatype":"UINT64","shape":[1],"data":[-5]}]})", std::nullopt,
       "input 'A': -5 is out of range for UINT64"},
      {R"({"inputs":[{"name":"A","datatype":"INT8","shape":[1],"data":[2.0]}]})", std::nullopt,
       "input 'A': data holds a fractional number where an integer is expected for INT8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    std::optional<size_t> hl = c.header_length;
    if (hl == kJsonPart) hl = c.body.rfind('}') + 1;
    auto r = DecodeInferRequest(c.body, hl);
    if (r.ok()) {
      ADD_FAILURE() << "decoded without an error";
      continue;
    }
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(r.status().message()), c.error);
  }
}

// Integer arrays take a fast path; a bare scalar `data` takes the general
// one. Both must accept the same values, store the same bytes and name the
// same errors, for every integer type at and beyond its limits.
TEST(DecodeInferRequest, IntegerFastPathEqualsTheGeneralPath) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> types = {
      {"INT8", {"-128", "127", "-129", "128"}},
      {"INT16", {"-32768", "32767", "-32769", "32768"}},
      {"INT32", {"-2147483648", "2147483647", "-2147483649", "2147483648"}},
      {"INT64",
       {"-9223372036854775808", "9223372036854775807", "-9223372036854775809",
        "9223372036854775808"}},
      {"UINT8", {"0", "255", "-1", "256"}},
      {"UINT16", {"0", "65535", "-1", "65536"}},
      {"UINT32", {"0", "4294967295", "-1", "4294967296"}},
      {"UINT64", {"0", "18446744073709551615", "-1", "18446744073709551616"}},
  };
  // ... and malformed numbers ("01", "-"), which the fast path's first
  // attempt (get_int64) refuses without consuming them.
  const std::vector<std::string> common = {"-0",   "0.0",   "1.5", "1e2", "true",
                                           "null", "\"7\"", "{}",  "01",  "-"};
  int accepted = 0, refused = 0;
  for (const auto& [type, edge] : types) {
    std::vector<std::string> values = edge;
    values.insert(values.end(), common.begin(), common.end());
    for (const std::string& v : values) {
      SCOPED_TRACE(type + " " + v);
      auto body = [&](const std::string& data) {
        return R"({"inputs":[{"name":"A","datatype":")" + type + R"(","shape":[1],"data":)" + data +
               "}]}";
      };
      auto general = DecodeInferRequest(body(v), std::nullopt);
      auto fast = DecodeInferRequest(body("[" + v + "]"), std::nullopt);
      ASSERT_EQ(general.ok(), fast.ok()) << general.status() << " / " << fast.status();
      if (general.ok()) {
        ++accepted;
        EXPECT_EQ(general->inputs[0].data, fast->inputs[0].data);
      } else {
        ++refused;
        EXPECT_EQ(general.status(), fast.status());
      }
    }
  }
  // Every type's two limits are accepted, and -0 (an integer zero).
  EXPECT_EQ(accepted, 8 * 3);
  EXPECT_EQ(refused, 8 * 2 + 8 * 9);
  // The fast path's stored values, exactly.
  auto r = DecodeInferRequest(
      R"({"inputs":[{"name":"A","datatype":"INT16","shape":[2,2],"data":[[-32768,32767],[0,-1]]},)"
      R"({"name":"B","datatype":"UINT64","shape":[2],"data":[18446744073709551615,9223372036854775808]}]})",
      std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(As<int16_t>(r->inputs[0]), (std::vector<int16_t>{-32768, 32767, 0, -1}));
  EXPECT_EQ(As<uint64_t>(r->inputs[1]),
            (std::vector<uint64_t>{18446744073709551615ull, 9223372036854775808ull}));
  // The first bad element is named, after good ones, whatever follows.
  auto bad = DecodeInferRequest(
      R"({"inputs":[{"name":"A","datatype":"INT8","shape":[4],"data":[1,2,-200,"x"]}]})",
      std::nullopt);
  EXPECT_EQ(std::string(bad.status().message()), "input 'A': -200 is out of range for INT8");
}

TEST(DecodeInferRequest, LargestFiniteValuesAreAccepted) {
  // FLT_MAX as our own encoder prints it (3.4028235e+38, a little above
  // FLT_MAX as a double) rounds to FLT_MAX; 65519 rounds to FP16's 65504;
  // underflow goes to zero.
  auto r = DecodeInferRequest(R"({"inputs":[
    {"name":"F","datatype":"FP32","shape":[3],"data":[3.4028235e+38,-3.4028235e+38,1e-50]},
    {"name":"H","datatype":"FP16","shape":[2],"data":[65504,-65519]},
    {"name":"U","datatype":"UINT64","shape":[1],"data":[0]},
    {"name":"I","datatype":"INT16","shape":[2],"data":[-32768,32767]}]})",
                              std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(As<float>(r->inputs[0]),
            (std::vector<float>{std::numeric_limits<float>::max(),
                                -std::numeric_limits<float>::max(), 0.0f}));
  EXPECT_EQ(As<uint16_t>(r->inputs[1]), (std::vector<uint16_t>{0x7bff, 0xfbff}));
  EXPECT_EQ(As<int16_t>(r->inputs[3]), (std::vector<int16_t>{-32768, 32767}));
}

TEST(DecodeInferRequest, PerOutputBinaryDataWinsOverTheRequestLevelParameter) {
  auto on = DecodeInferRequest(R"({"parameters":{"binary_data_output":true},"inputs":[],
    "outputs":[{"name":"X","parameters":{"binary_data":false}},{"name":"Y"}]})",
                               std::nullopt);
  ASSERT_TRUE(on.ok()) << on.status();
  ASSERT_EQ(on->outputs.size(), 2u);
  EXPECT_FALSE(on->outputs[0].binary);  // its own parameter wins
  EXPECT_TRUE(on->outputs[1].binary);   // takes the request's
  auto off = DecodeInferRequest(R"({"parameters":{"binary_data_output":false},"inputs":[],
    "outputs":[{"name":"X","parameters":{"binary_data":true}},{"name":"Y"}]})",
                                std::nullopt);
  ASSERT_TRUE(off.ok()) << off.status();
  ASSERT_EQ(off->outputs.size(), 2u);
  EXPECT_TRUE(off->outputs[0].binary);
  EXPECT_FALSE(off->outputs[1].binary);
}

// simdjson's array size saturates at 2^24 - 1; the fast path must still
// count (and fit) every element of a longer array.
TEST(DecodeInferRequest, FlatArrayLongerThanTwoToTheTwentyFour) {
  constexpr size_t kCount = (size_t{1} << 24) + 3;
  std::string body = R"({"inputs":[{"name":"A","datatype":"FP32","shape":[)" +
                     std::to_string(kCount) + R"(],"data":[)";
  body.reserve(body.size() + 2 * kCount + 8);
  for (size_t i = 0; i < kCount; ++i) body += i + 1 == kCount ? "7" : "0,";
  body += "]}]}";
  auto r = DecodeInferRequest(std::move(body), std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->inputs[0].data.size(), kCount * 4);
  std::vector<float> v = As<float>(r->inputs[0]);
  EXPECT_EQ(v[0], 0.0f);
  EXPECT_EQ(v[kCount - 1], 7.0f);
  // A parser grown for a 33 MB body is not kept by this thread.
  EXPECT_LE(CachedParserCapacity(), kMaxCachedParserCapacity);
}

TEST(DecodeInferRequest, ThreadKeepsOnlyASmallParser) {
  ASSERT_TRUE(DecodeInferRequest(R"({"inputs":[]})", std::nullopt).ok());
  const size_t small = CachedParserCapacity();
  EXPECT_GT(small, 0u);
  EXPECT_LE(small, kMaxCachedParserCapacity);
  // 2 MiB of JSON: parsed, then the parser that grew for it is dropped.
  std::string big = R"({"inputs":[],"id":")" + std::string(2 << 20, 'x') + R"("})";
  auto r = DecodeInferRequest(big, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id.size(), size_t{2} << 20);
  EXPECT_EQ(CachedParserCapacity(), small);
  // A body just under the limit still uses (and keeps) the cached parser.
  std::string fits =
      R"({"inputs":[],"id":")" + std::string(kMaxCachedParserCapacity - 21, 'y') + R"("})";
  ASSERT_EQ(fits.size(), kMaxCachedParserCapacity);
  ASSERT_TRUE(DecodeInferRequest(fits, std::nullopt).ok());
  EXPECT_EQ(CachedParserCapacity(), kMaxCachedParserCapacity);
}

// Fields may come in any order: data before the datatype, shape and name
// that decoding it needs (decoded on a second pass) gives the same tensors
// and the same errors.
TEST(DecodeInferRequest, FieldsInAnyOrder) {
  auto r = DecodeInferRequest(R"({"outputs":[{"parameters":{"binary_data":true},"name":"X"}],
    "inputs":[{"data":[[1,2],[3,-4]],"shape":[2,2],"datatype":"INT32","name":"A"},
              {"data":["hi"],"name":"D","shape":[1],"datatype":"BYTES"},
              {"shape":[3],"data":[1.5,2,-0.25],"datatype":"FP32","name":"B"}],
    "id":"7","parameters":{"binary_data_output":false}})",
                              std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "7");
  ASSERT_EQ(r->inputs.size(), 3u);
  EXPECT_EQ(r->inputs[0].name, "A");
  EXPECT_EQ(r->inputs[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(As<int32_t>(r->inputs[0]), (std::vector<int32_t>{1, 2, 3, -4}));
  EXPECT_EQ(r->inputs[1].data, std::string("\x02\x00\x00\x00hi", 6));
  EXPECT_EQ(As<float>(r->inputs[2]), (std::vector<float>{1.5f, 2.0f, -0.25f}));
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_TRUE(r->outputs[0].binary);

  struct Case {
    std::string body;
    std::string error;
  } cases[] = {
      // The error named is the same whatever the order of the fields.
      {R"({"outputs":5,"inputs":3})", "request needs an 'inputs' array"},
      {R"({"inputs":[{"data":["x"],"name":"A","datatype":"INT32","shape":[1]}],"id":5})",
       "'id' must be a string"},
      {R"({"inputs":[{"data":["x"],"name":"A","datatype":"INT32","shape":[1]}]})",
       "input 'A': data holds a string where an integer is expected for INT32"},
      {R"({"inputs":[{"data":[1,2],"shape":[3],"name":"A","datatype":"INT32"}]})",
       "input 'A': shape [3] needs 3 elements, data has 2"},
      {R"({"inputs":[{"data":[1],"name":"A","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}}]})",
       "input 'A' has both 'data' and binary_data_size"},
      {R"({"outputs":[{"name":1}],"inputs":[{"name":"A","datatype":"INT8","shape":[1],"data":[300]}]})",
       "input 'A': 300 is out of range for INT8"},
      // The first of two equal keys counts, as it did with simdjson's DOM.
      {R"({"inputs":[{"name":"A","name":5,"datatype":"INT32","datatype":"X","shape":[1],"data":["x"],"data":[1]}]})",
       "input 'A': data holds a string where an integer is expected for INT32"},
      // The whole body is valid JSON or it is refused as such, even after
      // an error in a field.
      {R"({"inputs":[{"name":"A","datatype":"INT32","shape":[1],"data":["x"]}],"z":tru})",
       "request body is not valid JSON: Problem while parsing an atom starting with the letter "
       "'t'"},
      {R"({"id":5,"inputs":[{"name":"A","datatype":"INT32","shape":[1],"data":[01]}]})",
       "request body is not valid JSON: Problem while parsing a number"},
      {R"({"inputs":[]} x)",
       "request body is not valid JSON: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {R"({"inputs":[]}})",
       "request body is not valid JSON: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {R"({"inputs":[],"x":{"y":[1,2}})",
       "request body is not valid JSON: The JSON document has an improper structure: missing or "
       "superfluous commas, braces, missing keys, etc."},
      {R"({"inputs":[],"x":[nul]})",
       "request body is not valid JSON: Problem while parsing an atom starting with the letter "
       "'n'"},
      {R"({"inputs":[],"x":"\q"})",
       "request body is not valid JSON: Problem while parsing a string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    auto e = DecodeInferRequest(c.body, std::nullopt);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.status().message()), c.error);
  }
}

// simdjson 3.0.1's On Demand get_number() returns 0 for a number of more
// than 19 significant digits; its DOM parsed such numbers right, and so
// must the decoder.
TEST(DecodeInferRequest, NumbersWithManyDigits) {
  auto r = DecodeInferRequest(R"({"inputs":[
    {"name":"D","datatype":"FP64","shape":[4],
     "data":[3.1415926535897932384626433832795028841971693993751,0.118446744073709551615,
             -1.18446744073709551615e5,0.0]},
    {"name":"F","datatype":"FP32","shape":[1,1],"data":[[2.71828182845904523536028747135]]}]})",
                              std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(As<double>(r->inputs[0]), (std::vector<double>{3.141592653589793, 0.11844674407370955,
                                                           -118446.74407370955, 0.0}));
  EXPECT_EQ(As<float>(r->inputs[1]), (std::vector<float>{2.7182817f}));
  auto big = DecodeInferRequest(
      R"({"inputs":[{"name":"F","datatype":"FP64","shape":[1],"data":[1234567890123456789012345e300]}]})",
      std::nullopt);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(std::string(big.status().message()),
            "request body is not valid JSON: Problem while parsing a number");
}

TEST(EncodeInferResponse, NonFiniteValuesAreJsonStrings) {
  core::InferResponse r;
  r.model_name = "m";
  r.model_version = "1";
  const float inf = std::numeric_limits<float>::infinity();
  float f[4] = {std::numeric_limits<float>::quiet_NaN(), inf, -inf, 1.5f};
  double d[2] = {-std::numeric_limits<double>::infinity(), 0.25};
  uint16_t h[3] = {0x7c00, 0xfe00, 0x3c00};  // +inf, NaN, 1
  r.outputs.push_back(
      {"F", core::DataType::kFp32, {4}, std::string(reinterpret_cast<char*>(f), 16)});
  r.outputs.push_back(
      {"D", core::DataType::kFp64, {2}, std::string(reinterpret_cast<char*>(d), 16)});
  r.outputs.push_back(
      {"H", core::DataType::kFp16, {3}, std::string(reinterpret_cast<char*>(h), 6)});
  r.binary = {false, false, false};
  EXPECT_EQ(
      EncodeInferResponse(r).body,
      R"({"model_name":"m","model_version":"1","outputs":[)"
      R"({"name":"F","datatype":"FP32","shape":[4],"data":["NaN","Infinity","-Infinity",1.5]},)"
      R"({"name":"D","datatype":"FP64","shape":[2],"data":["-Infinity",0.25]},)"
      R"({"name":"H","datatype":"FP16","shape":[3],"data":["Infinity","NaN",1]}]})");
}

// Names are written as they are when nothing needs escaping, else escaped;
// shapes as ShapeToString writes them; binary outputs' data in output order.
TEST(EncodeInferResponse, NamesShapesAndBinaryOrder) {
  core::InferResponse r;
  r.model_name = "m\"1\\";
  r.model_version = "v\x01\xc3\xa9\xff";
  r.id = "id\n";
  int32_t a[1] = {5};
  int8_t b[2] = {-1, 2};
  r.outputs.push_back(
      {"O\t", core::DataType::kInt32, {}, std::string(reinterpret_cast<char*>(a), 4)});
  r.outputs.push_back({"P",
                       core::DataType::kInt8,
                       {1, 9223372036854775807LL, -1},
                       std::string(reinterpret_cast<char*>(b), 2)});
  r.outputs.push_back(
      {"Q", core::DataType::kInt32, {1}, std::string(reinterpret_cast<char*>(a), 4)});
  r.binary = {true, false, true};
  EncodedResponse e = EncodeInferResponse(r);
  const std::string json =
      R"({"model_name":"m\"1\\","model_version":"v\u0001)"
      "\xc3\xa9"
      R"(\\xff","id":"id\n","outputs":[)"
      R"({"name":"O\t","datatype":"INT32","shape":[],"parameters":{"binary_data_size":4}},)"
      R"({"name":"P","datatype":"INT8","shape":[1,9223372036854775807,-1],"data":[-1,2]},)"
      R"({"name":"Q","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}}]})";
  ASSERT_TRUE(e.header_length.has_value());
  EXPECT_EQ(e.body.substr(0, *e.header_length), json);
  EXPECT_EQ(e.body.substr(*e.header_length), std::string(reinterpret_cast<char*>(a), 4) +
                                                 std::string(reinterpret_cast<char*>(a), 4));
  EXPECT_EQ(e.body.size(), json.size() + 8);
}

// Long data (many buffer flushes, the longest numbers) is written in full.
TEST(EncodeInferResponse, LongDataOfLongestNumbers) {
  core::InferResponse r;
  r.model_name = "m";
  r.model_version = "1";
  std::vector<int64_t> ints(1000);
  std::string want_ints;
  for (size_t i = 0; i < ints.size(); ++i) {
    ints[i] = i % 2 ? std::numeric_limits<int64_t>::min() : static_cast<int64_t>(i);
    absl::StrAppend(&want_ints, i ? "," : "", ints[i]);
  }
  std::vector<double> dbl(1000, -2.2250738585072014e-308);  // 24 characters each
  std::string want_dbl;
  for (size_t i = 0; i < dbl.size(); ++i)
    absl::StrAppend(&want_dbl, i ? "," : "", "-2.2250738585072014e-308");
  r.outputs.push_back({"I",
                       core::DataType::kInt64,
                       {1000},
                       std::string(reinterpret_cast<char*>(ints.data()), 8000)});
  r.outputs.push_back(
      {"D", core::DataType::kFp64, {1000}, std::string(reinterpret_cast<char*>(dbl.data()), 8000)});
  r.binary = {false, false};
  EXPECT_EQ(EncodeInferResponse(r).body,
            R"({"model_name":"m","model_version":"1","outputs":[{"name":"I","datatype":"INT64",)"
            R"("shape":[1000],"data":[)" +
                want_ints + R"(]},{"name":"D","datatype":"FP64","shape":[1000],"data":[)" +
                want_dbl + "]}]}");
}

// A BYTES element that is not UTF-8 has no lossless JSON form (it used to be
// written as the text \xNN, the same as those four characters sent as text):
// refused as JSON, naming the output and element; sent as binary data, kept.
TEST(CheckJsonEncodable, NonUtf8BytesOnlyAsBinaryData) {
  core::InferResponse r;
  auto bytes = [](std::vector<std::string> elements) {
    std::string data;
    for (const std::string& e : elements) {
      uint32_t n = static_cast<uint32_t>(e.size());
      data.append(reinterpret_cast<const char*>(&n), 4);
      data += e;
    }
    return data;
  };
  r.outputs.push_back({"TEXT", core::DataType::kBytes, {3}, bytes({"caf\xc3\xa9", "", "\\xff"})});
  r.outputs.push_back({"RAW", core::DataType::kBytes, {2}, bytes({"ok", "\xff"})});
  r.binary = {false, false};
  EXPECT_EQ(CheckJsonEncodable(r).message(),
            "output 'RAW' element 1 is not UTF-8 text, which a JSON string cannot carry: request "
            "the output as binary data (\"parameters\": {\"binary_data\": true} in the "
            "request's outputs)");
  r.binary = {false, true};
  EXPECT_TRUE(CheckJsonEncodable(r).ok());
  r.outputs[0].data = bytes({"\xed\xa0\x80"});  // a lone surrogate is not UTF-8 either
  EXPECT_EQ(CheckJsonEncodable(r).code(), absl::StatusCode::kInvalidArgument);
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
