#include "io/weight.h"

#include "base/error.h"

#include <algorithm>

namespace qwenrt {

Weight Weight::of(const TensorView& view) {
  Weight w;
  w.dtype = view.dtype;
  w.shape = view.shape;
  TensorView part = view;
  part.shape = Shape{view.rows(), view.cols()};
  w.parts.push_back(part);
  return w;
}

const TensorView& Weight::view() const {
  QW_CHECK(parts.size() == 1);
  return parts[0];
}

void Weight::for_rows(int64_t r0, int64_t r1,
                      const std::function<void(const TensorView&, int64_t, int64_t, int64_t)>& fn) const {
  int64_t base = 0;
  for (const TensorView& p : parts) {
    const int64_t n = p.rows();
    const int64_t lo = std::max(r0, base), hi = std::min(r1, base + n);
    if (lo < hi) fn(p, lo - base, lo, hi - lo);
    base += n;
    if (base >= r1) break;
  }
}

const std::byte* Weight::row(int64_t r) const {
  const std::byte* out = nullptr;
  for_rows(r, r + 1, [&](const TensorView& p, int64_t pr, int64_t, int64_t) {
    QW_CHECK(!p.row_groups);  // a row of a row-group weight is spread over its group
    out = p.row(pr);
  });
  QW_CHECK(out != nullptr);
  return out;
}

Weight Weight::rows_slice(int64_t r0, int64_t r1, const Shape& new_shape) const {
  QW_CHECK(0 <= r0 && r0 <= r1 && r1 <= rows() && new_shape.numel() == (r1 - r0) * cols());
  Weight w;
  w.dtype = dtype;
  w.shape = new_shape;
  for_rows(r0, r1, [&](const TensorView& p, int64_t pr, int64_t, int64_t n) {
    QW_CHECK(!p.row_groups || (pr % 16 == 0 && n % 16 == 0));  // whole groups only
    w.parts.push_back(TensorView{p.dtype, Shape{n, p.cols()}, p.row(pr), p.row_groups});
  });
  return w;
}

Weight Weight::concat(const std::vector<Weight>& pieces, const Shape& shape) {
  Weight w;
  int64_t rows = 0;
  for (const Weight& p : pieces) {
    if (w.parts.empty()) w.dtype = p.dtype;
    QW_CHECK(p.dtype == w.dtype && p.cols() == shape.cols());
    w.parts.insert(w.parts.end(), p.parts.begin(), p.parts.end());
    rows += p.rows();
  }
  QW_CHECK(rows == shape.rows());
  w.shape = shape;
  return w;
}

}  // namespace qwenrt
