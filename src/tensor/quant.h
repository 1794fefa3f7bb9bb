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

inline constexpr int kQ4_0BlockElems = 32;
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQ4_0BlockElems / 2];  // value j in the low nibble of qs[j % 16] (j < 16) or the high one
};
static_assert(sizeof(BlockQ4_0) == 18);

// The K-quants: super-blocks of 256 values (ggml's QK_K).
inline constexpr int kQkK = 256;
struct BlockQ4_K {
  uint16_t d, dmin;   // super-block scale for the scales, and for the mins
  uint8_t scales[12];  // 8 x (6-bit scale, 6-bit min), packed
  uint8_t qs[kQkK / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[kQkK / 8];  // the fifth bits
  uint8_t qs[kQkK / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);
struct BlockQ6_K {
  uint8_t ql[kQkK / 2];  // low 4 bits
  uint8_t qh[kQkK / 4];  // high 2 bits
  int8_t scales[kQkK / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// The eight 6-bit (scale, min) pairs of a Q4_K / Q5_K super-block's packed 12 bytes.
void unpack_k4_scales(const uint8_t* packed, uint8_t* scales, uint8_t* mins);

// Whether quantize_row can write type t (all of them can).
bool has_quantizer(DType t);

// n must be a multiple of the type's block size; t must have a quantizer.
void quantize_row(DType t, const float* x, void* dst, int64_t n);
void dequantize_row(DType t, const void* src, float* y, int64_t n);

// ggml's reference Q8_0: d = max|x| / 127, q = round-half-away(x / d).
void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n);
void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t n);

// ggml's reference Q4_0: d = (the value of largest magnitude) / -8, q = min(15, trunc(x / d + 8.5)).
void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t n);
void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t n);

// ggml's reference K-quant quantizers (what llama-quantize writes without an importance matrix):
// Q4_K / Q5_K fit a (scale, min) per 32 values by a weighted grid search, Q6_K a signed scale per 16.
void quantize_row_q4_k(const float* x, BlockQ4_K* y, int64_t n);
void quantize_row_q5_k(const float* x, BlockQ5_K* y, int64_t n);
void quantize_row_q6_k(const float* x, BlockQ6_K* y, int64_t n);
void dequantize_row_q4_k(const BlockQ4_K* x, float* y, int64_t n);
void dequantize_row_q5_k(const BlockQ5_K* x, float* y, int64_t n);
void dequantize_row_q6_k(const BlockQ6_K* x, float* y, int64_t n);

}  // namespace qwenrt
