#include "loadgen/v2_workload.h"

#include <cstring>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tide::loadgen {
namespace {

using json = nlohmann::json;

constexpr char kSimpleMetadata[] = R"({"name":"simple","versions":["1"],"platform":"pytorch",
  "inputs":[{"name":"INPUT0","datatype":"INT32","shape":[-1,16]},
            {"name":"INPUT1","datatype":"INT32","shape":[-1,16]}],
  "outputs":[{"name":"OUTPUT0","datatype":"INT32","shape":[-1,16]},
             {"name":"OUTPUT1","datatype":"INT32","shape":[-1,16]}]})";

const Url kUrl{"127.0.0.1", 8000, "/"};

// Splits a serialised request into (head, body).
std::pair<std::string, std::string> SplitRequest(const std::string& wire) {
  size_t end = wire.find("\r\n\r\n");
  return {wire.substr(0, end), wire.substr(end + 4)};
}

V2Workload MustBuild(const V2WorkloadOptions& o, const char* metadata = kSimpleMetadata) {
  auto m = ParseModelMetadata(metadata);
  EXPECT_TRUE(m.ok()) << m.status();
  auto w = BuildV2Workload(*m, kUrl, o);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? *w : V2Workload();
}

TEST(ParseModelMetadata, ReadsKServeFields) {
  auto m = ParseModelMetadata(kSimpleMetadata);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->name, "simple");
  EXPECT_EQ(m->versions, std::vector<std::string>{"1"});
  ASSERT_EQ(m->inputs.size(), 2u);
  EXPECT_EQ(m->inputs[1].name, "INPUT1");
  EXPECT_EQ(m->inputs[1].shape, (std::vector<int64_t>{-1, 16}));
  EXPECT_EQ(m->outputs[0].datatype, "INT32");
  EXPECT_FALSE(ParseModelMetadata("[]").ok());
  EXPECT_FALSE(ParseModelMetadata(R"({"name":"x","inputs":[]})").ok());
  EXPECT_FALSE(
      ParseModelMetadata(R"({"inputs":[{"name":"a","datatype":"COMPLEX","shape":[1]}]})").ok());
}

TEST(BuildV2Workload, JsonRequestWithBatchDim) {
  V2WorkloadOptions o;
  o.model = "simple";
  o.batch_size = 2;
  V2Workload w = MustBuild(o);
  EXPECT_TRUE(w.batched);
  ASSERT_EQ(w.requests.size(), 1u);
  auto [head, body] = SplitRequest(w.requests[0]);
  EXPECT_NE(head.find("POST /v2/models/simple/infer HTTP/1.1"), std::string::npos);
  EXPECT_NE(head.find("Content-Type: application/json"), std::string::npos);
  json j = json::parse(body);
  ASSERT_EQ(j["inputs"].size(), 2u);
  EXPECT_EQ(j["inputs"][0]["shape"], json({2, 16}));
  EXPECT_EQ(j["inputs"][0]["datatype"], "INT32");
  EXPECT_EQ(j["inputs"][0]["data"].size(), 32u);
  EXPECT_EQ(j["inputs"][0]["data"][5], 0);
  EXPECT_EQ(j["outputs"], json::parse(R"([{"name":"OUTPUT0"},{"name":"OUTPUT1"}])"));
  // Keys in Triton's clients' order, "data" last (what servers see from
  // real clients; tide's decoder would take a second pass otherwise).
  EXPECT_EQ(body.substr(0, 68),
            R"({"inputs":[{"name":"INPUT0","shape":[2,16],"datatype":"INT32","data")");
  ASSERT_EQ(w.outputs.size(), 2u);
  EXPECT_EQ(w.outputs[0].shape, (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(w.description, "INPUT0 INT32 [2,16], INPUT1 INT32 [2,16]");
}

TEST(BuildV2Workload, BinaryRequestFollowsTritonExtension) {
  V2WorkloadOptions o;
  o.model = "simple";
  o.version = "1";
  o.binary = true;
  o.data = V2WorkloadOptions::Data::kRandom;
  V2Workload w = MustBuild(o);
  auto [head, body] = SplitRequest(w.requests[0]);
  EXPECT_NE(head.find("POST /v2/models/simple/versions/1/infer"), std::string::npos);
  const size_t pos = head.find("Inference-Header-Content-Length: ");
  ASSERT_NE(pos, std::string::npos);
  const size_t json_len = std::stoul(head.substr(pos + 33));
  json j = json::parse(body.substr(0, json_len));
  EXPECT_EQ(j["inputs"][0]["parameters"]["binary_data_size"], 64);
  EXPECT_FALSE(j["inputs"][0].contains("data"));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data"], true);
  ASSERT_EQ(body.size(), json_len + 128);
  // Random INT32 data are in [0, 100), seeded.
  for (int i = 0; i < 32; ++i) {
    int32_t v;
    std::memcpy(&v, body.data() + json_len + 4 * i, 4);
    EXPECT_GE(v, 0);
    EXPECT_LT(v, 100);
  }
  EXPECT_EQ(MustBuild(o).requests, w.requests);
  o.seed = 2;
  EXPECT_NE(MustBuild(o).requests, w.requests);
}

TEST(BuildV2Workload, VariableDimsNeedShape) {
  const char* meta = R"({"name":"v","inputs":[{"name":"X","datatype":"FP32","shape":[-1,-1,3]}],
    "outputs":[{"name":"Y","datatype":"FP32","shape":[-1,-1]}]})";
  auto m = ParseModelMetadata(meta);
  ASSERT_TRUE(m.ok());
  V2WorkloadOptions o;
  o.model = "v";
  auto missing = BuildV2Workload(*m, kUrl, o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--shape"), std::string::npos);
  o.shapes["X"] = {5, 3};
  V2Workload w = MustBuild(o, meta);
  json j = json::parse(SplitRequest(w.requests[0]).second);
  EXPECT_EQ(j["inputs"][0]["shape"], json({1, 5, 3}));
  EXPECT_EQ(j["inputs"][0]["data"].size(), 15u);
  EXPECT_EQ(w.outputs[0].shape, (std::vector<int64_t>{1, -1}));
  o.shapes["X"] = {5, 4};  // dim 1 is fixed at 3
  EXPECT_FALSE(BuildV2Workload(*m, kUrl, o).ok());
  o.shapes = {{"NOPE", {1}}};
  EXPECT_FALSE(BuildV2Workload(*m, kUrl, o).ok());
}

TEST(BuildV2Workload, NonBatchingModelRejectsBatchSize) {
  const char* meta = R"({"name":"n","inputs":[{"name":"X","datatype":"FP16","shape":[4]}]})";
  V2WorkloadOptions o;
  o.model = "n";
  V2Workload w = MustBuild(o, meta);
  EXPECT_FALSE(w.batched);
  o.batch_size = 4;
  auto m = ParseModelMetadata(meta);
  EXPECT_FALSE(BuildV2Workload(*m, kUrl, o).ok());
}

TEST(BuildV2Workload, InputDataFileEntriesBecomeRequests) {
  V2WorkloadOptions o;
  o.model = "simple";
  o.batch_size = 2;
  o.data = V2WorkloadOptions::Data::kFile;
  o.input_data_json = R"({"data":[
      {"INPUT0": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],
       "INPUT1": {"content": [[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,7]], "shape": [16]}},
      {"INPUT0": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], "INPUT1": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}]})";
  V2Workload w = MustBuild(o);
  ASSERT_EQ(w.requests.size(), 2u);
  json j = json::parse(SplitRequest(w.requests[0]).second);
  EXPECT_EQ(j["inputs"][0]["shape"], json({2, 16}));
  EXPECT_EQ(j["inputs"][0]["data"][0], 1);
  EXPECT_EQ(j["inputs"][0]["data"][16], 1);  // repeated for the second batch item
  EXPECT_EQ(j["inputs"][1]["data"][15], 7);

  o.input_data_json = R"({"data":[{"INPUT0": [1,2,3]}]})";
  auto m = ParseModelMetadata(kSimpleMetadata);
  EXPECT_FALSE(BuildV2Workload(*m, kUrl, o).ok());
  o.input_data_json = R"({"data":[{"INPUT0": [1,2,3], "INPUT1": [1,2,3]}]})";
  auto bad = BuildV2Workload(*m, kUrl, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("3 values"), std::string::npos);
  o.input_data_json = "not json";
  EXPECT_FALSE(BuildV2Workload(*m, kUrl, o).ok());
}

HttpResponse JsonResponse(int status, const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.body = body;
  return r;
}

TEST(V2ResponseChecker, Table) {
  V2ResponseChecker checker("simple",
                            {{"OUTPUT0", "INT32", {2, 16}}, {"OUTPUT1", "INT32", {2, -1}}});
  auto data = [](int n) {
    json a = json::array();
    for (int i = 0; i < n; ++i) a.push_back(i);
    return a.dump();
  };
  const std::string good =
      R"({"model_name":"simple","outputs":[{"name":"OUTPUT0","datatype":"INT32","shape":[2,16],"data":)" +
      data(32) + R"(},{"name":"OUTPUT1","datatype":"INT32","shape":[2,5],"data":)" + data(10) +
      "}]}";
  struct Case {
    HttpResponse response;
    std::string want;
  };
  const Case cases[] = {
      {JsonResponse(200, good), ""},
      {JsonResponse(503, R"({"error":"busy"})"), "http_503"},
      {JsonResponse(200, "nope"), "bad_response: not JSON"},
      {JsonResponse(200, R"({"outputs":[]})"), "bad_response: no model_name"},
      {JsonResponse(200, R"({"model_name":"other","outputs":[]})"),
       "bad_response: wrong model_name"},
      {JsonResponse(200, R"({"model_name":"simple","outputs":[]})"),
       "bad_response: missing output OUTPUT0"},
      {JsonResponse(
           200,
           R"({"model_name":"simple","outputs":[{"name":"OUTPUT0","shape":[1,16],"data":[]}]})"),
       "bad_response: wrong shape of OUTPUT0"},
      {JsonResponse(
           200,
           R"({"model_name":"simple","outputs":[{"name":"OUTPUT0","shape":[2,16],"data":[1]}]})"),
       "bad_response: wrong data size of OUTPUT0"},
  };
  for (const Case& c : cases) EXPECT_EQ(checker.Check(c.response, 0), c.want) << c.response.body;
}

TEST(V2ResponseChecker, BinaryOutputs) {
  V2ResponseChecker checker("m", {{"OUT", "FP32", {1, 4}}});
  const std::string head =
      R"({"model_name":"m","outputs":[{"name":"OUT","datatype":"FP32","shape":[1,4],"parameters":{"binary_data_size":16}}]})";
  HttpResponse r;
  r.status = 200;
  r.inference_header_length = static_cast<int64_t>(head.size());
  r.body = head + std::string(16, '\0');
  EXPECT_EQ(checker.Check(r, 0), "");
  r.body = head + std::string(8, '\0');
  EXPECT_EQ(checker.Check(r, 0), "bad_response: binary data shorter than declared");
  r.inference_header_length = 100000;
  EXPECT_EQ(checker.Check(r, 0), "bad_response: Inference-Header-Content-Length beyond body");
}

}  // namespace
}  // namespace tide::loadgen
