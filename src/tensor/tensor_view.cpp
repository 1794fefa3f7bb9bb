#include "tensor/tensor_view.h"

#include "base/error.h"

#include <fmt/format.h>

namespace qwenrt {

Shape::Shape(std::initializer_list<int64_t> d) {
  QW_CHECK(d.size() <= kMaxRank);
  for (int64_t v : d) dims[static_cast<size_t>(rank++)] = v;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= dims[static_cast<size_t>(i)];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank != o.rank) return false;
  for (int i = 0; i < rank; ++i) {
    if (dims[static_cast<size_t>(i)] != o.dims[static_cast<size_t>(i)]) return false;
  }
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) {
    if (i) s += ", ";
    s += fmt::format("{}", dims[static_cast<size_t>(i)]);
  }
  return s + "]";
}

}  // namespace qwenrt
