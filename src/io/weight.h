#pragma once
// A weight matrix (or a stack of them) as the engine computes with it. Its rows may come from
// several contiguous blocks of the files (`parts`, concatenated in order), so tensors a source
// stores stacked, fused or grouped differently from the canonical layout are used in place:
// per-expert HF tensors form one stacked [E, I, H] weight, a fused gate_up tensor splits into
// gate and up without a copy, Qwen3-Next's grouped in_proj_qkvz regroups into attn_qkv.
#include "tensor/tensor_view.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace qwenrt {

struct Weight {
  DType dtype = DType::F32;
  Shape shape;                    // the canonical shape; rows() = product of all but the last dim
  std::vector<TensorView> parts;  // each [n_rows, cols]; their rows concatenated are this weight's rows

  static Weight of(const TensorView& view);
  int64_t rows() const { return shape.rows(); }
  int64_t cols() const { return shape.cols(); }
  size_t row_bytes() const { return qwenrt::row_bytes(dtype, cols()); }
  size_t nbytes() const { return row_bytes() * static_cast<size_t>(rows()); }
  bool empty() const { return parts.empty(); }
  bool contiguous() const { return parts.size() == 1; }
  // Stored in row groups (TensorView::row_groups; all parts or none).
  bool row_groups() const { return !parts.empty() && parts[0].row_groups; }
  // The single part of a contiguous weight.
  const TensorView& view() const;
  const std::byte* row(int64_t r) const;

  // Rows [r0, r1) as a weight of shape `shape` (its numel must match).
  Weight rows_slice(int64_t r0, int64_t r1, const Shape& shape) const;
  // Rows [r0, r1) as a 2-D [r1 - r0, cols] weight.
  Weight rows_slice(int64_t r0, int64_t r1) const { return rows_slice(r0, r1, Shape{r1 - r0, cols()}); }
  // Weights concatenated along rows (all of one dtype and width), given the combined shape.
  static Weight concat(const std::vector<Weight>& pieces, const Shape& shape);

  // Calls fn(part, first row within the part, first row within this weight, row count) for the
  // parts covering rows [r0, r1).
  void for_rows(int64_t r0, int64_t r1,
                const std::function<void(const TensorView&, int64_t, int64_t, int64_t)>& fn) const;
};

}  // namespace qwenrt
