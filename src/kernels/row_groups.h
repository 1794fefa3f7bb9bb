#pragma once
// Row groups: a load-time layout of a quantized matrix in which the kernels read 16 rows side by
// side without transposing them. The matrix is cut into groups of 16 consecutive rows; a group
// keeps its 16 x row_bytes bytes in place, but each of its blocks (Q8_0's 32 values, a K-quant's
// super-block of 256) is stored as its 16 rows' copies interleaved: the block's 4-byte words one
// after another, each as 16 words (row 0's first; one 64-byte vector lane per row), then its
// 2-byte fields that do not fall in whole words (Q8_0's leading scale, Q6_K's trailing one) as 16
// halves. A group of row groups is at the same address as its first row was, so a range of rows
// that starts at a multiple of 16 is found as before; a single row is no longer contiguous.
#include "tensor/dtype.h"

#include <cstddef>
#include <cstdint>

namespace qwenrt::kernels {

inline constexpr int kRowGroup = 16;

// Where a type's block keeps its words and its stray half (in the block as the file stores it).
struct RowGroupBlock {
  int block_bytes = 0;   // bytes of one row's block
  int block_elems = 0;   // values per block
  int word_offset = 0;   // first byte of the words
  int n_words = 0;       // 4-byte words interleaved from there
  int half_offset = -1;  // a 2-byte field outside the words (-1: none)
};

// The layout of type t, or nullptr when t has none (only types whose VNNI kernels read it).
const RowGroupBlock* row_group_block(DType t);

// In place: rows [0, n_rows) of a matrix of k values a row (n_rows a multiple of 16) into row
// groups, and back. `scratch` needs 16 x row_bytes(t, k) bytes.
void to_row_groups(DType t, std::byte* rows, int64_t n_rows, int64_t k, std::byte* scratch);
void from_row_groups(DType t, std::byte* rows, int64_t n_rows, int64_t k, std::byte* scratch);

}  // namespace qwenrt::kernels
