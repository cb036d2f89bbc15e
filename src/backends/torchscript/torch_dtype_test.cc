#include "backends/torchscript/torch_dtype.h"

#include "gtest/gtest.h"

namespace tide::backends::torchscript {
namespace {

TEST(TorchDtype, EveryV2NumericTypeWithATorchTypeRoundTrips) {
  using core::DataType;
  struct Case {
    DataType v2;
    std::optional<c10::ScalarType> torch;
  } cases[] = {
      {DataType::kBool, c10::ScalarType::Bool},   {DataType::kUint8, c10::ScalarType::Byte},
      {DataType::kInt8, c10::ScalarType::Char},   {DataType::kInt16, c10::ScalarType::Short},
      {DataType::kInt32, c10::ScalarType::Int},   {DataType::kInt64, c10::ScalarType::Long},
      {DataType::kFp16, c10::ScalarType::Half},   {DataType::kFp32, c10::ScalarType::Float},
      {DataType::kFp64, c10::ScalarType::Double}, {DataType::kUint16, std::nullopt},
      {DataType::kUint32, std::nullopt},          {DataType::kUint64, std::nullopt},
      {DataType::kBytes, std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ToTorchType(c.v2), c.torch) << core::V2Name(c.v2);
    if (c.torch) {
      EXPECT_EQ(FromTorchType(*c.torch), c.v2) << core::V2Name(c.v2);
      EXPECT_EQ(c10::elementSize(*c.torch), core::ElementSize(c.v2)) << core::V2Name(c.v2);
    }
  }
}

TEST(TorchDtype, TorchTypesWithoutAV2NameAreRejected) {
  EXPECT_EQ(FromTorchType(c10::ScalarType::BFloat16), std::nullopt);
  EXPECT_EQ(FromTorchType(c10::ScalarType::ComplexFloat), std::nullopt);
  EXPECT_EQ(FromTorchType(c10::ScalarType::QInt8), std::nullopt);
}

}  // namespace
}  // namespace tide::backends::torchscript
