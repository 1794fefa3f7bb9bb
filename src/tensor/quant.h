#pragma once
// Block layouts of the quantized weight types (bit-exact with ggml) and reference conversions
// between them and float. These are the scalar oracles; fast paths live in kernels/.
#include "tensor/dtype.h"

#include <cstdint>

namespace qwenrt {

inline constexpr int kQ8_0BlockElems = 32;

struct BlockQ8_0 {
  uint16_t d;  // scale, IEEE half
  int8_t qs[kQ8_0BlockElems];
};
static_assert(sizeof(BlockQ8_0) == 34);

// n must be a multiple of the type's block size.
void quantize_row(DType t, const float* x, void* dst, int64_t n);
void dequantize_row(DType t, const void* src, float* y, int64_t n);

// ggml's reference Q8_0: d = max|x| / 127, q = round-half-away(x / d).
void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n);
void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t n);

}  // namespace qwenrt
