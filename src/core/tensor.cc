#include "core/tensor.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tide::core {

int64_t ShapeElementCount(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

int64_t Tensor::ElementCount() const { return ShapeElementCount(shape); }

std::string ShapeToString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

namespace {

// Offsets of each BYTES element's start, or an error if the framing is wrong.
absl::Status WalkBytes(const Tensor& t, int64_t count, std::vector<size_t>* starts) {
  size_t pos = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (t.data.size() - pos < 4) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", t.name, "': BYTES data ends inside element ", i, "'s 4-byte length"));
    }
    uint32_t len;
    std::memcpy(&len, t.data.data() + pos, 4);
    if (starts) starts->push_back(pos);
    pos += 4;
    if (t.data.size() - pos < len) {
      return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "': BYTES element ", i,
                                                     " claims ", len, " bytes but only ",
                                                     t.data.size() - pos, " remain"));
    }
    pos += len;
  }
  if (pos != t.data.size()) {
    return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "': ", t.data.size() - pos,
                                                   " bytes left over after ", count,
                                                   " BYTES elements"));
  }
  if (starts) starts->push_back(pos);
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTensorData(const Tensor& t) {
  int64_t count = t.ElementCount();
  if (count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", t.name, "': invalid shape ", ShapeToString(t.shape)));
  }
  if (t.datatype == DataType::kBytes) return WalkBytes(t, count, nullptr);
  const size_t elem = ElementSize(t.datatype);
  if (static_cast<uint64_t>(count) >
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / elem) {
    // Its byte count would overflow (and could wrap to the size given).
    return absl::InvalidArgumentError(absl::StrCat("input '", t.name, "': shape ",
                                                   ShapeToString(t.shape), " of ",
                                                   V2Name(t.datatype), " is too large"));
  }
  size_t want = static_cast<size_t>(count) * elem;
  if (t.data.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", t.name, "': shape ", ShapeToString(t.shape), " of ",
                     V2Name(t.datatype), " needs ", want, " bytes, got ", t.data.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tensor> ConcatBatch(const std::vector<const Tensor*>& parts) {
  if (parts.empty()) return absl::InvalidArgumentError("ConcatBatch: no tensors");
  const Tensor& first = *parts[0];
  if (first.shape.empty()) return absl::InvalidArgumentError("ConcatBatch: scalar tensor");
  Tensor out;
  out.name = first.name;
  out.datatype = first.datatype;
  out.shape = first.shape;
  out.shape[0] = 0;
  size_t total = 0;
  for (const Tensor* p : parts) total += p->data.size();
  out.data.reserve(total);
  for (const Tensor* p : parts) {
    if (p->datatype != first.datatype || p->shape.size() != first.shape.size() ||
        !std::equal(p->shape.begin() + 1, p->shape.end(), first.shape.begin() + 1)) {
      return absl::InvalidArgumentError(absl::StrCat("ConcatBatch: '", p->name, "' shape ",
                                                     ShapeToString(p->shape), " differs from ",
                                                     ShapeToString(first.shape)));
    }
    out.shape[0] += p->shape[0];
    out.data.append(p->data);
  }
  return out;
}

absl::StatusOr<std::vector<Tensor>> SplitBatch(const Tensor& t, const std::vector<int64_t>& sizes) {
  if (t.shape.empty()) return absl::InvalidArgumentError("SplitBatch: scalar tensor");
  int64_t rows = 0;
  for (int64_t s : sizes) rows += s;
  if (rows != t.shape[0]) {
    return absl::InternalError(absl::StrCat("output '", t.name, "' has ", t.shape[0],
                                            " rows in its batch dim, expected ", rows));
  }
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  if (t.datatype == DataType::kBytes) {
    std::vector<size_t> starts;
    if (absl::Status s = WalkBytes(t, t.ElementCount(), &starts); !s.ok()) return s;
    int64_t per_row = rows == 0 ? 0 : t.ElementCount() / rows;
    int64_t elem = 0;
    for (int64_t s : sizes) {
      Tensor piece{t.name, t.datatype, t.shape, {}};
      piece.shape[0] = s;
      size_t begin = starts[elem];
      elem += s * per_row;
      piece.data = t.data.substr(begin, starts[elem] - begin);
      out.push_back(std::move(piece));
    }
    return out;
  }
  size_t row_bytes = rows == 0 ? 0 : t.data.size() / static_cast<size_t>(rows);
  size_t pos = 0;
  for (int64_t s : sizes) {
    Tensor piece{t.name, t.datatype, t.shape, {}};
    piece.shape[0] = s;
    piece.data = t.data.substr(pos, row_bytes * s);
    pos += row_bytes * s;
    out.push_back(std::move(piece));
  }
  return out;
}

}  // namespace tide::core
