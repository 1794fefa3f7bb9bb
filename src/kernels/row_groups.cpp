#include "kernels/row_groups.h"

#include "base/error.h"

#include <cstring>

namespace qwenrt::kernels {

const RowGroupBlock* row_group_block(DType t) {
  // Q8_0: f16 d, then 32 int8. Q4_K: f16 d, dmin, 12 scale bytes, 128 nibble bytes; Q5_K adds 32
  // bytes of fifth bits before them. Q6_K: 128 + 64 level bytes, 16 scales, then f16 d.
  static constexpr RowGroupBlock q8_0{34, 32, 2, 8, 0};
  static constexpr RowGroupBlock q4_k{144, 256, 0, 36, -1};
  static constexpr RowGroupBlock q5_k{176, 256, 0, 44, -1};
  static constexpr RowGroupBlock q6_k{210, 256, 0, 52, 208};
  switch (t) {
    case DType::Q8_0: return &q8_0;
    case DType::Q4_K: return &q4_k;
    case DType::Q5_K: return &q5_k;
    case DType::Q6_K: return &q6_k;
    default: return nullptr;
  }
}

namespace {

// One group's blocks between the row layout (`rows`: 16 rows of `row_bytes`) and the group layout
// (`group`), in the direction `to_groups` says.
void convert_group(const RowGroupBlock& l, int64_t nb, size_t row_bytes, std::byte* rows, std::byte* group, bool to_groups) {
  for (int64_t b = 0; b < nb; ++b) {
    std::byte* g = group + static_cast<size_t>(b) * kRowGroup * static_cast<size_t>(l.block_bytes);
    for (int r = 0; r < kRowGroup; ++r) {
      std::byte* blk = rows + static_cast<size_t>(r) * row_bytes + static_cast<size_t>(b) * static_cast<size_t>(l.block_bytes);
      for (int w = 0; w < l.n_words; ++w) {
        std::byte* word = g + (static_cast<size_t>(w) * kRowGroup + static_cast<size_t>(r)) * 4;
        std::byte* in_row = blk + l.word_offset + 4 * w;
        if (to_groups) std::memcpy(word, in_row, 4);
        else std::memcpy(in_row, word, 4);
      }
      if (l.half_offset >= 0) {
        std::byte* half = g + static_cast<size_t>(l.n_words) * kRowGroup * 4 + static_cast<size_t>(r) * 2;
        if (to_groups) std::memcpy(half, blk + l.half_offset, 2);
        else std::memcpy(blk + l.half_offset, half, 2);
      }
    }
  }
}

void convert(DType t, std::byte* rows, int64_t n_rows, int64_t k, std::byte* scratch, bool to_groups) {
  const RowGroupBlock* l = row_group_block(t);
  QW_CHECK(l != nullptr && n_rows % kRowGroup == 0 && k % l->block_elems == 0);
  QW_CHECK(l->n_words * 4 + (l->half_offset >= 0 ? 2 : 0) == l->block_bytes);
  const size_t row = row_bytes(t, k), group = row * kRowGroup;
  for (int64_t r = 0; r < n_rows; r += kRowGroup) {
    std::byte* at = rows + static_cast<size_t>(r) * row;
    std::memcpy(scratch, at, group);
    if (to_groups) convert_group(*l, k / l->block_elems, row, scratch, at, true);
    else convert_group(*l, k / l->block_elems, row, at, scratch, false);
  }
}

}  // namespace

void to_row_groups(DType t, std::byte* rows, int64_t n_rows, int64_t k, std::byte* scratch) {
  convert(t, rows, n_rows, k, scratch, true);
}

void from_row_groups(DType t, std::byte* rows, int64_t n_rows, int64_t k, std::byte* scratch) {
  convert(t, rows, n_rows, k, scratch, false);
}

}  // namespace qwenrt::kernels
