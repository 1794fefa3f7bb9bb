#pragma once
// A non-owning view of one tensor in its storage dtype. Shapes are row-major, outermost first,
// as PyTorch writes them ([out, in] for a Linear); GGUF's ne order is the reverse.
// The innermost dimension is contiguous; a "row" is one run of it.
#include "tensor/dtype.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace qwenrt {

inline constexpr int kMaxRank = 4;  // GGUF's GGML_MAX_DIMS; readers reject more

struct Shape {
  int rank = 0;
  std::array<int64_t, kMaxRank> dims{};

  Shape() = default;
  Shape(std::initializer_list<int64_t> d);
  int64_t operator[](int i) const { return dims[static_cast<size_t>(i)]; }
  int64_t numel() const;
  int64_t cols() const { return rank ? dims[static_cast<size_t>(rank - 1)] : 1; }
  int64_t rows() const { return rank ? numel() / cols() : 1; }
  bool operator==(const Shape& o) const;
  std::string str() const;  // "[512, 64]"
};

struct TensorView {
  DType dtype = DType::F32;
  Shape shape;
  const std::byte* data = nullptr;
  // Rows stored in groups of 16 for the matmul kernels (kernels/row_groups.h): a range of rows from
  // a multiple of 16 is still at row(r), but a single row is not contiguous there.
  bool row_groups = false;

  int64_t numel() const { return shape.numel(); }
  int64_t rows() const { return shape.rows(); }
  int64_t cols() const { return shape.cols(); }
  size_t row_bytes() const { return qwenrt::row_bytes(dtype, cols()); }
  size_t nbytes() const { return row_bytes() * static_cast<size_t>(rows()); }
  const std::byte* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes(); }
  bool valid() const { return data != nullptr; }
  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data); }
};

}  // namespace qwenrt
