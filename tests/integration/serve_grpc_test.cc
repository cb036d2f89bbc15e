// The V2 gRPC API of the real `tide serve`, through a generated gRPC client.

#include <grpcpp/grpcpp.h>

#include <cstring>

#include "grpc_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "support/tide_process.h"

namespace tide::testing {
namespace {

class ServeGrpc : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TideProcess>(std::vector<std::string>{
        "serve", "--model-repository", std::string(TIDE_SOURCE_DIR) + "/examples/models",
        "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0", "--host", "127.0.0.1",
        "--drain-delay", "0"});
    ASSERT_TRUE(server_->started()) << server_->Log();
    int port = server_->grpc_port();
    ASSERT_GT(port, 0);
    stub_ = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<TideProcess> server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(ServeGrpc, HealthMetadataAndInfer) {
  {
    grpc::ClientContext ctx;
    inference::ServerReadyResponse r;
    ASSERT_TRUE(stub_->ServerReady(&ctx, {}, &r).ok());
    EXPECT_TRUE(r.ready());
  }
  {
    grpc::ClientContext ctx;
    inference::ModelMetadataRequest req;
    req.set_name("simple");
    inference::ModelMetadataResponse r;
    ASSERT_TRUE(stub_->ModelMetadata(&ctx, req, &r).ok());
    EXPECT_EQ(r.name(), "simple");
    ASSERT_EQ(r.inputs_size(), 2);
    EXPECT_EQ(r.inputs(0).datatype(), "INT32");
    EXPECT_EQ(r.inputs(0).shape_size(), 2);
    EXPECT_EQ(r.inputs(0).shape(0), -1);
  }
  inference::ModelInferRequest req;
  req.set_model_name("simple");
  req.set_id("g1");
  std::vector<int32_t> a(16), b(16);
  for (int i = 0; i < 16; ++i) {
    a[i] = i;
    b[i] = 2 * i + 1;
  }
  for (const char* name : {"INPUT0", "INPUT1"}) {
    auto* in = req.add_inputs();
    in->set_name(name);
    in->set_datatype("INT32");
    in->add_shape(1);
    in->add_shape(16);
  }
  for (int i = 0; i < 16; ++i) req.mutable_inputs(0)->mutable_contents()->add_int_contents(a[i]);
  for (int i = 0; i < 16; ++i) req.mutable_inputs(1)->mutable_contents()->add_int_contents(b[i]);
  grpc::ClientContext ctx;
  inference::ModelInferResponse resp;
  grpc::Status s = stub_->ModelInfer(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.id(), "g1");
  EXPECT_EQ(resp.model_version(), "1");
  ASSERT_EQ(resp.raw_output_contents_size(), 2);
  std::vector<int32_t> sum(16), diff(16);
  std::memcpy(sum.data(), resp.raw_output_contents(0).data(), 64);
  std::memcpy(diff.data(), resp.raw_output_contents(1).data(), 64);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(sum[i], a[i] + b[i]);
    EXPECT_EQ(diff[i], a[i] - b[i]);
  }
}

TEST_F(ServeGrpc, ErrorsMapToGrpcCodes) {
  inference::ModelInferRequest req;
  req.set_model_name("nope");
  grpc::ClientContext c1;
  inference::ModelInferResponse resp;
  grpc::Status s = stub_->ModelInfer(&c1, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "unknown model 'nope'");
  req.set_model_name("simple");
  auto* in = req.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("INT32");
  in->add_shape(1);
  in->add_shape(16);
  in->mutable_contents()->add_int_contents(1);
  grpc::ClientContext c2;
  s = stub_->ModelInfer(&c2, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "input 'INPUT0': shape [1,16] needs 16 elements, contents has 1");
}

}  // namespace
}  // namespace tide::testing
