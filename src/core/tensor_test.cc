#include "core/tensor.h"

#include <cstring>

#include "gtest/gtest.h"

namespace tide::core {
namespace {

std::string Ints(std::initializer_list<int32_t> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

std::string Bytes(std::initializer_list<std::string> v) {
  std::string s;
  for (const std::string& e : v) {
    uint32_t n = e.size();
    s.append(reinterpret_cast<const char*>(&n), 4);
    s += e;
  }
  return s;
}

TEST(Tensor, ElementCountAndShapeString) {
  EXPECT_EQ(ShapeElementCount({2, 3, 4}), 24);
  EXPECT_EQ(ShapeElementCount({}), 1);
  EXPECT_EQ(ShapeElementCount({2, -1}), -1);
  EXPECT_EQ(ShapeElementCount({1LL << 40, 1LL << 40}), -1);
  EXPECT_EQ(ShapeToString({1, 16}), "[1,16]");
}

TEST(Tensor, ValidateDataSizes) {
  Tensor t{"X", DataType::kInt32, {2, 2}, Ints({1, 2, 3, 4})};
  EXPECT_TRUE(ValidateTensorData(t).ok());
  t.data.pop_back();
  absl::Status s = ValidateTensorData(t);
  EXPECT_EQ(std::string(s.message()), "input 'X': shape [2,2] of INT32 needs 16 bytes, got 15");
  Tensor b{"S", DataType::kBytes, {2}, Bytes({"ab", ""})};
  EXPECT_TRUE(ValidateTensorData(b).ok());
  b.data += "x";
  EXPECT_EQ(std::string(ValidateTensorData(b).message()),
            "input 'S': 1 bytes left over after 2 BYTES elements");
  Tensor short_len{"S",
                   DataType::kBytes,
                   {1},
                   std::string("\x05\x00\x00\x00"
                               "ab",
                               6)};
  EXPECT_EQ(ValidateTensorData(short_len).message(),
            "input 'S': BYTES element 0 claims 5 bytes but only 2 remain");
}

TEST(Tensor, ConcatAndSplitRoundTrip) {
  Tensor a{"X", DataType::kInt32, {1, 2}, Ints({1, 2})};
  Tensor b{"X", DataType::kInt32, {2, 2}, Ints({3, 4, 5, 6})};
  auto cat = ConcatBatch({&a, &b});
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ(cat->shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(cat->data, Ints({1, 2, 3, 4, 5, 6}));
  auto parts = SplitBatch(*cat, {1, 2});
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ((*parts)[0].data, a.data);
  EXPECT_EQ((*parts)[1].data, b.data);
  EXPECT_EQ((*parts)[1].shape, b.shape);
  Tensor c{"X", DataType::kInt32, {1, 3}, Ints({1, 2, 3})};
  EXPECT_FALSE(ConcatBatch({&a, &c}).ok());
  EXPECT_EQ(SplitBatch(*cat, {1, 1}).status().code(), absl::StatusCode::kInternal);
}

TEST(Tensor, SplitBytesByRows) {
  Tensor t{"S", DataType::kBytes, {3, 1}, Bytes({"a", "bcd", ""})};
  auto parts = SplitBatch(t, {2, 1});
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ((*parts)[0].data, Bytes({"a", "bcd"}));
  EXPECT_EQ((*parts)[1].data, Bytes({""}));
}

}  // namespace
}  // namespace tide::core
