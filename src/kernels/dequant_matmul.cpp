#include "kernels/kernels.h"

#include "base/error.h"
#include "tensor/quant.h"

namespace qwenrt::kernels {

void matmul_dequantized(const MatmulArgs& a, DType t, float (*dot)(const float*, const float*, int64_t)) {
  // One super-block of values at a time: rows of any length, no heap, the row read once for all
  // the tokens.
  constexpr int kChunk = 256;
  constexpr int kTokens = 64;
  const DTypeInfo& info = dtype_info(t);
  QW_CHECK(kChunk % info.block_elems == 0 && a.k % info.block_elems == 0);
  const size_t chunk_bytes = static_cast<size_t>(kChunk / info.block_elems) * static_cast<size_t>(info.block_bytes);
  alignas(64) float w[kChunk];
  float acc[kTokens];
  for (int t0 = 0; t0 < a.n_tok; t0 += kTokens) {
    const int nt = a.n_tok - t0 < kTokens ? a.n_tok - t0 : kTokens;
    for (int64_t r = a.r0; r < a.r1; ++r) {
      const std::byte* row = a.w + static_cast<size_t>(r) * a.w_row_bytes;
      for (int j = 0; j < nt; ++j) acc[j] = 0.0f;
      for (int64_t c = 0; c < a.k; c += kChunk) {
        const int64_t n = a.k - c < kChunk ? a.k - c : kChunk;
        dequantize_row(t, row + static_cast<size_t>(c / kChunk) * chunk_bytes, w, n);
        for (int j = 0; j < nt; ++j) {
          const float* x = reinterpret_cast<const float*>(a.x + static_cast<size_t>(t0 + j) * a.x_row_bytes);
          acc[j] += dot(w, x + c, n);
        }
      }
      for (int j = 0; j < nt; ++j) a.y[(t0 + j) * a.y_stride + r] = acc[j];
    }
  }
}

}  // namespace qwenrt::kernels
