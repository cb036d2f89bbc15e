#pragma once

// A log-linear histogram of non-negative integer values (latencies in
// nanoseconds), in the manner of HdrHistogram: values below 2^sub_bits are
// counted exactly; above, each power-of-two range is split into
// 2^(sub_bits-1) equal buckets. A reported percentile is the midpoint of its
// bucket (clamped to the observed min/max), so its relative error is at most
// 2^-sub_bits: 0.049 % with the default 11 bits. Values above kMaxValue are
// counted in the top bucket; Max() stays exact.
//
// Not thread-safe: each load worker owns one and they are merged at the end.

#include <cstdint>
#include <utility>
#include <vector>

namespace tide::workload {

class Histogram {
 public:
  static constexpr int kDefaultSubBits = 11;
  static constexpr int64_t kMaxValue = int64_t{1} << 42;  // ~73 minutes in ns

  explicit Histogram(int sub_bits = kDefaultSubBits);

  void Record(int64_t value) { RecordN(value, 1); }
  void RecordN(int64_t value, uint64_t n);
  // Adds `other`'s counts; both must have the same sub_bits.
  void Merge(const Histogram& other);
  void Clear();

  uint64_t Count() const { return count_; }
  int64_t Min() const { return count_ ? min_ : 0; }
  int64_t Max() const { return count_ ? max_ : 0; }
  double Mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The value at quantile q in [0, 1] (q = 0.99 is p99): the smallest recorded
  // value v such that at least ceil(q * Count()) values are <= v, reported as
  // its bucket's midpoint. 0 when empty.
  int64_t Percentile(double q) const;
  // Largest relative error of a reported value: 2^-sub_bits.
  double RelativeError() const;

  // Sparse export/import, for compact per-second timelines.
  std::vector<std::pair<uint32_t, uint64_t>> NonZero() const;
  void AddBuckets(const std::vector<std::pair<uint32_t, uint64_t>>& buckets);

  int sub_bits() const { return sub_bits_; }

 private:
  uint32_t IndexOf(int64_t value) const;
  int64_t LowestOf(uint32_t index) const;
  int64_t WidthOf(uint32_t index) const;

  int sub_bits_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  __int128 sum_ = 0;
};

}  // namespace tide::workload
