#include "loadgen/grpc_workload.h"

#include <cstring>

#include "grpc_service.pb.h"
#include "gtest/gtest.h"

namespace tide::loadgen {
namespace {

V2WorkloadOptions Options(GrpcContents contents) {
  V2WorkloadOptions o;
  o.model = "m";
  o.version = "2";
  o.grpc = contents;
  return o;
}

InputValues Fp32(std::vector<double> values) {
  InputValues v;
  v.name = "INPUT0";
  v.datatype = "FP32";
  v.shape = {1, static_cast<int64_t>(values.size())};
  v.numbers = std::move(values);
  return v;
}

TEST(SerializeGrpcInfer, TypedContents) {
  auto bytes = SerializeGrpcInfer({Fp32({1.5, -2})}, {{"OUTPUT0", "FP32", {1, 2}}},
                                  Options(GrpcContents::kTyped));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  inference::ModelInferRequest req;
  ASSERT_TRUE(req.ParseFromString(*bytes));
  EXPECT_EQ(req.model_name(), "m");
  EXPECT_EQ(req.model_version(), "2");
  ASSERT_EQ(req.inputs_size(), 1);
  EXPECT_EQ(req.inputs(0).name(), "INPUT0");
  EXPECT_EQ(req.inputs(0).datatype(), "FP32");
  ASSERT_EQ(req.inputs(0).shape_size(), 2);
  EXPECT_EQ(req.inputs(0).shape(1), 2);
  ASSERT_EQ(req.inputs(0).contents().fp32_contents_size(), 2);
  EXPECT_EQ(req.inputs(0).contents().fp32_contents(0), 1.5f);
  EXPECT_EQ(req.inputs(0).contents().fp32_contents(1), -2.0f);
  EXPECT_EQ(req.raw_input_contents_size(), 0);
  ASSERT_EQ(req.outputs_size(), 1);
  EXPECT_EQ(req.outputs(0).name(), "OUTPUT0");
}

TEST(SerializeGrpcInfer, RawContentsAreLittleEndianBytes) {
  auto bytes = SerializeGrpcInfer({Fp32({1.5, -2})}, {}, Options(GrpcContents::kRaw));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  inference::ModelInferRequest req;
  ASSERT_TRUE(req.ParseFromString(*bytes));
  ASSERT_EQ(req.raw_input_contents_size(), 1);
  const std::string& raw = req.raw_input_contents(0);
  ASSERT_EQ(raw.size(), 8u);
  float f[2];
  std::memcpy(f, raw.data(), 8);
  EXPECT_EQ(f[0], 1.5f);
  EXPECT_EQ(f[1], -2.0f);
  EXPECT_FALSE(req.inputs(0).has_contents());
}

TEST(SerializeGrpcInfer, Fp16NeedsRawContents) {
  InputValues half = Fp32({1});
  half.datatype = "FP16";
  auto bytes = SerializeGrpcInfer({half}, {}, Options(GrpcContents::kTyped));
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().message(),
            "input INPUT0 is FP16: gRPC typed contents cannot carry it; use --grpc-contents raw");
  EXPECT_TRUE(SerializeGrpcInfer({half}, {}, Options(GrpcContents::kRaw)).ok());
}

std::string Answer(int raw_bytes, std::vector<int64_t> shape, std::string model = "m") {
  inference::ModelInferResponse r;
  r.set_model_name(model);
  auto* out = r.add_outputs();
  out->set_name("OUTPUT0");
  out->set_datatype("FP32");
  for (int64_t d : shape) out->add_shape(d);
  r.add_raw_output_contents(std::string(raw_bytes, '\0'));
  return r.SerializeAsString();
}

TEST(GrpcResponseChecker, CausesByCase) {
  GrpcResponseChecker checker("m", {{"OUTPUT0", "FP32", {1, 2}}});
  EXPECT_EQ(checker.CheckGrpc({0, "", Answer(8, {1, 2})}, 0), "");
  EXPECT_EQ(checker.CheckGrpc({14, "queue full", ""}, 0), "grpc_UNAVAILABLE");
  EXPECT_EQ(checker.CheckGrpc({5, "no model", ""}, 0), "grpc_NOT_FOUND");
  EXPECT_EQ(checker.CheckGrpc({0, "", "\xff\xff"}, 0), "bad_response: not a ModelInferResponse");
  EXPECT_EQ(checker.CheckGrpc({0, "", Answer(8, {1, 2}, "x")}, 0),
            "bad_response: wrong model_name");
  EXPECT_EQ(checker.CheckGrpc({0, "", Answer(8, {1, 3})}, 0),
            "bad_response: wrong shape of OUTPUT0");
  EXPECT_EQ(checker.CheckGrpc({0, "", Answer(4, {1, 2})}, 0),
            "bad_response: wrong data size of OUTPUT0");
  GrpcResponseChecker other("m", {{"OUT", "FP32", {1}}});
  EXPECT_EQ(other.CheckGrpc({0, "", Answer(8, {1, 2})}, 0), "bad_response: missing output OUT");
}

TEST(GrpcCodeName, StandardCodesByNameOthersByNumber) {
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(8), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(17), "17");
}

}  // namespace
}  // namespace tide::loadgen
