#include "frontends/grpc/grpc_codec.h"

#include <cstring>

#include "gtest/gtest.h"

namespace tide::grpcfe {
namespace {

TEST(GrpcCodec, TypedAndRawContents) {
  inference::ModelInferRequest r;
  r.set_model_name("simple");
  r.set_id("9");
  auto* a = r.add_inputs();
  a->set_name("A");
  a->set_datatype("INT16");
  a->add_shape(1);
  a->add_shape(2);
  a->mutable_contents()->add_int_contents(-3);
  a->mutable_contents()->add_int_contents(300);
  auto* s = r.add_inputs();
  s->set_name("S");
  s->set_datatype("BYTES");
  s->add_shape(1);
  s->mutable_contents()->add_bytes_contents("hey");
  r.add_outputs()->set_name("X");
  auto req = FromProto(r);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->id, "9");
  int16_t v[2];
  std::memcpy(v, req->inputs[0].data.data(), 4);
  EXPECT_EQ(v[0], -3);
  EXPECT_EQ(v[1], 300);
  EXPECT_EQ(req->inputs[1].data, std::string("\x03\x00\x00\x00hey", 7));
  ASSERT_EQ(req->outputs.size(), 1u);
  EXPECT_EQ(req->outputs[0].name, "X");

  inference::ModelInferRequest raw;
  auto* f = raw.add_inputs();
  f->set_name("F");
  f->set_datatype("FP32");
  f->add_shape(2);
  float data[2] = {1.5f, -2};
  raw.add_raw_input_contents(std::string(reinterpret_cast<char*>(data), 8));
  auto rr = FromProto(raw);
  ASSERT_TRUE(rr.ok()) << rr.status();
  EXPECT_EQ(rr->inputs[0].data, std::string(reinterpret_cast<char*>(data), 8));
}

TEST(GrpcCodec, Errors) {
  inference::ModelInferRequest r;
  auto* a = r.add_inputs();
  a->set_name("A");
  a->set_datatype("INT8");
  a->add_shape(1);
  a->mutable_contents()->add_int_contents(200);
  EXPECT_EQ(std::string(FromProto(r).status().message()),
            "input 'A': 200 is out of range for INT8");
  a->mutable_contents()->set_int_contents(0, 1);
  a->add_shape(2);
  EXPECT_EQ(std::string(FromProto(r).status().message()),
            "input 'A': shape [1,2] needs 2 elements, contents has 1");
  r.add_raw_input_contents("xx");
  r.add_raw_input_contents("yy");
  EXPECT_EQ(std::string(FromProto(r).status().message()),
            "raw_input_contents has 2 entries for 1 inputs");
  inference::ModelInferRequest h;
  auto* x = h.add_inputs();
  x->set_name("H");
  x->set_datatype("FP16");
  x->add_shape(1);
  EXPECT_EQ(std::string(FromProto(h).status().message()),
            "input 'H': FP16 data must be sent as raw_input_contents");
}

TEST(GrpcCodec, ClaimedShapesAreCheckedAgainstTheDataGiven) {
  // Typed contents: the claim is compared with the values sent, nothing is
  // reserved for it.
  inference::ModelInferRequest typed;
  auto* t = typed.add_inputs();
  t->set_name("x");
  t->set_datatype("INT64");
  t->add_shape(2147483647);
  t->mutable_contents()->add_int64_contents(1);
  EXPECT_EQ(std::string(FromProto(typed).status().message()),
            "input 'x': shape [2147483647] needs 2147483647 elements, contents has 1");
  // Raw contents: 2^61 INT64 elements are 2^64 bytes, which must not wrap to
  // the 0 bytes sent.
  inference::ModelInferRequest raw;
  auto* r = raw.add_inputs();
  r->set_name("R");
  r->set_datatype("INT64");
  r->add_shape(int64_t{1} << 61);
  raw.add_raw_input_contents("");
  auto wrapped = FromProto(raw);
  EXPECT_EQ(wrapped.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(wrapped.status().message()),
            "input 'R': shape [2305843009213693952] of INT64 is too large");
  r->set_shape(0, int64_t{1} << 62);
  r->add_shape(4);
  EXPECT_EQ(std::string(FromProto(raw).status().message()),
            "input 'R': shape [4611686018427387904,4] is too large");
  r->set_shape(0, -1);
  EXPECT_EQ(std::string(FromProto(raw).status().message()),
            "input 'R': shape must hold non-negative integers");
}

TEST(GrpcCodec, ResponseIsRaw) {
  core::InferResponse r;
  r.model_name = "m";
  r.model_version = "2";
  r.id = "i";
  r.outputs.push_back({"O", core::DataType::kInt32, {1, 1}, std::string("\x05\x00\x00\x00", 4)});
  inference::ModelInferResponse out;
  ToProto(r, &out);
  EXPECT_EQ(out.model_name(), "m");
  EXPECT_EQ(out.model_version(), "2");
  EXPECT_EQ(out.id(), "i");
  ASSERT_EQ(out.outputs_size(), 1);
  EXPECT_EQ(out.outputs(0).datatype(), "INT32");
  EXPECT_EQ(out.outputs(0).shape_size(), 2);
  EXPECT_EQ(out.raw_output_contents(0), std::string("\x05\x00\x00\x00", 4));
}

// The moving encoder (the server's path) writes exactly the bytes the copying
// one does, into a message on the heap or on an arena (the server's).
TEST(GrpcCodec, MovedResponseEqualsCopiedResponse) {
  core::InferResponse r;
  r.model_name = "mlp";
  r.model_version = "1";
  r.id = "req-7";
  r.outputs.push_back({"probs", core::DataType::kFp32, {1, 3}, std::string(12, '\x3f')});
  r.outputs.push_back({"label", core::DataType::kInt64, {1}, std::string("\x02\0\0\0\0\0\0\0", 8)});
  r.outputs.push_back(
      {"text", core::DataType::kBytes, {2}, std::string("\x01\0\0\0a\x00\0\0\0", 9)});
  inference::ModelInferResponse copied;
  ToProto(r, &copied);
  google::protobuf::Arena arena;
  auto* moved = google::protobuf::Arena::CreateMessage<inference::ModelInferResponse>(&arena);
  core::InferResponse consumed = r;
  ToProto(std::move(consumed), moved);
  EXPECT_EQ(moved->SerializeAsString(), copied.SerializeAsString());
  ASSERT_EQ(moved->raw_output_contents_size(), 3);
  EXPECT_EQ(moved->raw_output_contents(0), std::string(12, '\x3f'));
  EXPECT_EQ(moved->raw_output_contents(2), std::string("\x01\0\0\0a\x00\0\0\0", 9));
  EXPECT_EQ(moved->outputs(1).name(), "label");
  EXPECT_EQ(moved->outputs(1).datatype(), "INT64");
  EXPECT_EQ(moved->outputs(2).shape(0), 2);
  EXPECT_EQ(copied.SerializeAsString().size(), 106u);  // 15 + 19 + 19 + 18 + 35
}

}  // namespace
}  // namespace tide::grpcfe
