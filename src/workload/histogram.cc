#include "workload/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tide::workload {

// Layout: with s = sub_bits and h = 2^(s-1), a value v has shift
// max(0, floor(log2 v) - (s - 1)); its index is shift * h + (v >> shift).
// Values < 2^s have shift 0 and index v (exact). For shift >= 1, v >> shift
// lies in [h, 2h), so the indices of consecutive shifts are contiguous.
Histogram::Histogram(int sub_bits) : sub_bits_(std::clamp(sub_bits, 2, 20)) {
  counts_.assign(IndexOf(kMaxValue) + 1, 0);
}

uint32_t Histogram::IndexOf(int64_t value) const {
  uint64_t v = static_cast<uint64_t>(std::clamp<int64_t>(value, 0, kMaxValue));
  int log2 = v == 0 ? 0 : 63 - std::countl_zero(v);
  int shift = std::max(0, log2 - (sub_bits_ - 1));
  uint64_t half = uint64_t{1} << (sub_bits_ - 1);
  return static_cast<uint32_t>(shift * half + (v >> shift));
}

int64_t Histogram::LowestOf(uint32_t index) const {
  uint64_t half = uint64_t{1} << (sub_bits_ - 1);
  if (index < 2 * half) return index;
  uint64_t shift = index / half - 1;
  uint64_t sub = index - shift * half;
  return static_cast<int64_t>(sub << shift);
}

int64_t Histogram::WidthOf(uint32_t index) const {
  uint64_t half = uint64_t{1} << (sub_bits_ - 1);
  if (index < 2 * half) return 1;
  return int64_t{1} << (index / half - 1);
}

void Histogram::RecordN(int64_t value, uint64_t n) {
  if (n == 0) return;
  if (value < 0) value = 0;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  counts_[IndexOf(value)] += n;
  count_ += n;
  sum_ += static_cast<__int128>(value) * n;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  size_t n = std::min(counts_.size(), other.counts_.size());
  for (size_t i = 0; i < n; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
}

void Histogram::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

int64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (uint32_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      int64_t mid = LowestOf(i) + (WidthOf(i) - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

double Histogram::RelativeError() const { return std::ldexp(1.0, -sub_bits_); }

std::vector<std::pair<uint32_t, uint64_t>> Histogram::NonZero() const {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  for (uint32_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) out.emplace_back(i, counts_[i]);
  }
  return out;
}

void Histogram::AddBuckets(const std::vector<std::pair<uint32_t, uint64_t>>& buckets) {
  for (const auto& [index, n] : buckets) {
    if (index >= counts_.size() || n == 0) continue;
    // The bucket's midpoint stands for its values (min/max/sum approximate).
    RecordN(LowestOf(index) + (WidthOf(index) - 1) / 2, n);
  }
}

}  // namespace tide::workload
