#pragma once
// The kernel API: a table of plain function pointers, one table per ISA level, picked once at
// start-up from the CPU's features. Kernels are single-threaded and work on a range of output
// rows; model/ splits work across threads. Every entry has a scalar twin in ref/ that is the
// oracle the SIMD variants are tested against.
//
// This header is included by the ISA translation units (compiled with -mavx2 / -mavx512*), so it
// must stay free of inline functions and templates that other code also instantiates: the
// linker would otherwise be free to pick the AVX-512 copy for everyone.
#include "tensor/dtype.h"

#include <cstddef>
#include <cstdint>

namespace qwenrt::kernels {

enum class Isa : uint8_t { Scalar, Avx2, Avx512, Avx512Vnni };
const char* isa_name(Isa isa);

// Activations are given to a matmul in the format its weight type wants.
enum class ActFormat : uint8_t {
  F32,  // plain float rows
  Q8,   // blocks of 32: f32 scale + 32 x int8 (row length must be a multiple of 32)
  Q8K,  // blocks of 256: f32 scale, 256 x int8 and the sums of each 16 (for the K-quants)
  // Q8's blocks, then one int32 per block: -128 x the sum of its values. VNNI multiplies unsigned
  // by signed bytes, so the kernel offsets the weights by 128 and this cancels the offset.
  Q8Sum,
};

inline constexpr int kQ8ActBlockElems = 32;
struct BlockQ8Act {
  float d;
  int8_t qs[kQ8ActBlockElems];
};
static_assert(sizeof(BlockQ8Act) == 36);

// One scale per 256 values lets a K-quant kernel sum a whole super-block in integers, its
// sub-block scales applied as 16-bit multipliers; the sums of 16 give the offset terms (Q4_K and
// Q5_K's mins, Q6_K's -32) without touching the values again.
inline constexpr int kQ8KBlockElems = 256;
struct BlockQ8K {
  float d;
  int8_t qs[kQ8KBlockElems];
  int16_t bsums[kQ8KBlockElems / 16];
};
static_assert(sizeof(BlockQ8K) == 292);

// Queries per attention tile: each key and value block is read from the cache once per tile (and
// then from L1 for the tile's other queries).
inline constexpr int kAttnTile = 16;

// Bytes of one activation row of `k` values in `format`.
size_t act_row_bytes(ActFormat format, int64_t k);
// One row of k floats into `format` (act_row_bytes(format, k) bytes at out) with kt's quantizers.
struct KernelTable;
void quantize_act_row(const KernelTable& kt, ActFormat format, const float* x, std::byte* out, int64_t k);

// y[t * y_stride + r] = sum_c W[r, c] * x_t[c]  for r in [r0, r1), t in [0, n_tok).
struct MatmulArgs {
  const std::byte* w;  // row r starts at w + r * w_row_bytes
  size_t w_row_bytes;
  int64_t k;            // inner dimension
  const std::byte* x;  // token t's activations start at x + t * x_row_bytes
  size_t x_row_bytes;
  int n_tok;
  float* y;
  int64_t y_stride;
  int64_t r0, r1;
};
using MatmulFn = void (*)(const MatmulArgs&);

struct MatmulKernel {
  ActFormat act;
  MatmulFn fn;
  // The same product with the weights in row groups (row_groups.h; a.w at a group, r0 and r1
  // multiples of 16), bit for bit; nullptr where this level has no such kernel.
  MatmulFn groups = nullptr;
};

struct KernelTable {
  Isa isa;
  MatmulKernel matmul[kNumDTypes];  // indexed by DType
  // x (k floats) -> k / 32 BlockQ8Act
  void (*quantize_q8_act)(const float* x, BlockQ8Act* out, int64_t k);
  // x (k floats) -> k / 256 BlockQ8K: d = max|x| / 127, q = round-half-even(x / d)
  void (*quantize_q8k_act)(const float* x, BlockQ8K* out, int64_t k);
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  void (*axpy_f32)(float a, const float* x, float* y, int64_t n);  // y += a * x
  void (*scale_f32)(float* y, float a, int64_t n);                 // y *= a
  // sum of x[i]^2 in double, for RMSNorm: x[i] into lane i % 16 (a square of a float is exact in
  // double, so fused or not it is one rounding), then sum_lanes_f64's tree: one value on every ISA.
  double (*sum_squares_f64)(const float* x, int64_t n);
  // Softmax pieces of the attention: x *= a, returning max(x) (-inf when n is 0); and
  // x = exp(x - m), returning the sum of the new x in a fixed order (exp within 2 ulp of std::exp).
  float (*scale_max_f32)(float* x, float a, int64_t n);
  float (*exp_sum_f32)(float* x, float m, int64_t n);
  // gate = silu(gate) * up = gate / (1 + exp(-gate)) * up, the exp as in exp_sum_f32.
  void (*silu_mul_f32)(float* gate, const float* up, int64_t n);
  // Attention of a tile of nq <= kAttnTile queries (rows q_stride floats apart) against n keys and
  // values (rows of `dim` floats): scores[i * n + j] = q_i . k_j, and
  // out_i += sum over j, in order, of p[i * n + j] * v_j (one fused multiply-add per element and j).
  // A query's arithmetic is the same whatever nq: its attention does not depend on its batch.
  void (*attn_scores)(const float* q, int64_t q_stride, int nq, const float* keys, int n, int64_t dim, float* scores);
  void (*attn_accumulate)(const float* p, int nq, int n, const float* vals, int64_t dim, float* out, int64_t out_stride);
  // The same with the keys and values in f16 (an f16 KV cache), widened exactly to f32 as they are read.
  void (*attn_scores_f16)(const float* q, int64_t q_stride, int nq, const uint16_t* keys, int n, int64_t dim, float* scores);
  void (*attn_accumulate_f16)(const float* p, int nq, int n, const uint16_t* vals, int64_t dim, float* out, int64_t out_stride);
  // f32 -> f16, round to nearest even (tensor/fp16.h's fp32_to_fp16).
  void (*f32_to_f16)(const float* x, uint16_t* out, int64_t n);
  // Reads n bytes (n a multiple of 64) as fast as the ISA allows and returns a checksum: the
  // read-bandwidth probe behind the benchmark's roofline.
  uint64_t (*stream_read)(const std::byte* p, size_t n);
};

// Weight types without a kernel of their own yet (Q4_0): each row is dequantized
// block by block (tensor/quant.h) and multiplied with `dot` (the ISA's), in the same order whether
// one token or many, so results do not depend on the batch. Defined in dequant_matmul.cpp.
void matmul_dequantized(const MatmulArgs& a, DType t, float (*dot)(const float*, const float*, int64_t));

// An attention tile as register groups of up to kAttnGroup queries: f.template operator()<N>(i) for
// the N queries from query i. The ISAs' kernels take N as a constant, so that the accumulators stay
// in registers (indexed by a run-time count, the compiler spilled them to the stack at every step);
// the block of keys or values stays in L1 between the groups.
inline constexpr int kAttnGroup = 4;
template <class F>
inline void for_query_groups(int nq, F&& f) {
  for (int i = 0; i < nq; i += kAttnGroup) {
    switch (nq - i) {
      case 1: f.template operator()<1>(i); break;
      case 2: f.template operator()<2>(i); break;
      case 3: f.template operator()<3>(i); break;
      default: f.template operator()<kAttnGroup>(i); break;
    }
  }
}

// The 16 lanes of sum_squares_f64 summed in a fixed tree: lane l + 8 into l, then l + 4, l + 2, l + 1.
inline double sum_lanes_f64(double* acc) {
  for (int w = 8; w >= 1; w /= 2) {
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  }
  return acc[0];
}

// The best table for this CPU (or the one named by QWENRT_ISA=scalar|avx2|avx512|avx512-vnni when supported).
const KernelTable& kernel_table();
// A specific level, or nullptr when this CPU cannot run it (tests compare every level to Scalar).
const KernelTable* kernel_table_for(Isa isa);

// Implemented in ref/ and x86/; declared here so dispatch can list them explicitly.
const KernelTable& scalar_kernels();
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();
const KernelTable& avx512_vnni_kernels();
// The VNNI level's own kernels (x86/avx512_vnni.cpp); its table takes the rest from AVX-512.
void matmul_q8_0_avx512_vnni(const MatmulArgs& a);
void matmul_q4_k_avx512_vnni(const MatmulArgs& a);
void matmul_q5_k_avx512_vnni(const MatmulArgs& a);
void matmul_q6_k_avx512_vnni(const MatmulArgs& a);
void matmul_q8_0_groups_avx512_vnni(const MatmulArgs& a);
void matmul_q4_k_groups_avx512_vnni(const MatmulArgs& a);
void matmul_q5_k_groups_avx512_vnni(const MatmulArgs& a);

}  // namespace qwenrt::kernels
