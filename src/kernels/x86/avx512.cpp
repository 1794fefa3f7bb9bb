// AVX-512 (F, BW, VL, DQ) kernels. Same structure as avx2.cpp with 16-wide vectors and masked
// tails; compiled with its own flags and kept in an anonymous namespace (see kernels.h).
#include <immintrin.h>

#include <cstring>
#include <limits>

#include "kernels/kernels.h"
#include "kernels/x86/k_quant_unpack_avx512.h"
#include "tensor/quant.h"

namespace qwenrt::kernels {
namespace {

inline __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

struct LoadF32 {
  static __m512 load16(const std::byte* w, int64_t c) { return _mm512_loadu_ps(reinterpret_cast<const float*>(w) + c); }
  static __m512 load_tail(const std::byte* w, int64_t c, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(w) + c);
  }
};
struct LoadF16 {
  static __m512 load16(const std::byte* w, int64_t c) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(w) + c)));
  }
  static __m512 load_tail(const std::byte* w, int64_t c, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(w) + c));
  }
};
struct LoadBF16 {
  static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static __m512 load16(const std::byte* w, int64_t c) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(w) + c)));
  }
  static __m512 load_tail(const std::byte* w, int64_t c, __mmask16 m) {
    return widen(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(w) + c));
  }
};

template <class L, int RN, int TN>
void micro_float(const MatmulArgs& a, int64_t r, int t) {
  __m512 acc[RN][TN];
  const std::byte* w[RN];
  const float* x[TN];
  for (int i = 0; i < RN; ++i) {
    w[i] = a.w + static_cast<size_t>(r + i) * a.w_row_bytes;
    for (int j = 0; j < TN; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  for (int j = 0; j < TN; ++j) x[j] = reinterpret_cast<const float*>(a.x + static_cast<size_t>(t + j) * a.x_row_bytes);
  int64_t c = 0;
  for (; c + 16 <= a.k; c += 16) {
    __m512 xv[TN];
    for (int j = 0; j < TN; ++j) xv[j] = _mm512_loadu_ps(x[j] + c);
    for (int i = 0; i < RN; ++i) {
      const __m512 wv = L::load16(w[i], c);
      for (int j = 0; j < TN; ++j) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
    }
  }
  if (c < a.k) {
    const __mmask16 m = tail_mask(a.k - c);
    __m512 xv[TN];
    for (int j = 0; j < TN; ++j) xv[j] = _mm512_maskz_loadu_ps(m, x[j] + c);
    for (int i = 0; i < RN; ++i) {
      const __m512 wv = L::load_tail(w[i], c, m);
      for (int j = 0; j < TN; ++j) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < RN; ++i) {
    for (int j = 0; j < TN; ++j) a.y[(t + j) * a.y_stride + r + i] = _mm512_reduce_add_ps(acc[i][j]);
  }
}

// Decode (one token): rows one after another as a single sequential stream (the hardware
// prefetcher follows it; interleaving several rows was measured slower), software prefetch 8 KiB
// ahead into L2 (measured, F16 0.6B tg64: 2 KiB into L1 20.4-21.9 t/s, 8 KiB into L2 22.2-24.2,
// 4 and 16 KiB into L2 in between). The summation order is micro_float's (one accumulator, 16 columns a step, the masked tail
// last), so a token's result is bit-identical alone and inside a batch: a server's greedy streams
// do not change with what else runs. One FMA chain is enough here: its latency allows more than
// the memory delivers (measured: faster than four accumulators with sparser prefetch).
template <class L>
void gemv_float(const MatmulArgs& a) {
  const float* x = reinterpret_cast<const float*>(a.x);
  constexpr size_t kPrefetchBytes = 8192;
  const size_t elem = a.w_row_bytes / static_cast<size_t>(a.k);
  for (int64_t r = a.r0; r < a.r1; ++r) {
    const std::byte* w = a.w + static_cast<size_t>(r) * a.w_row_bytes;
    __m512 acc = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 32 <= a.k; c += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(w + static_cast<size_t>(c) * elem + kPrefetchBytes), _MM_HINT_T1);
      acc = _mm512_fmadd_ps(L::load16(w, c), _mm512_loadu_ps(x + c), acc);
      acc = _mm512_fmadd_ps(L::load16(w, c + 16), _mm512_loadu_ps(x + c + 16), acc);
    }
    for (; c + 16 <= a.k; c += 16) acc = _mm512_fmadd_ps(L::load16(w, c), _mm512_loadu_ps(x + c), acc);
    if (c < a.k) {
      const __mmask16 m = tail_mask(a.k - c);
      acc = _mm512_fmadd_ps(L::load_tail(w, c, m), _mm512_maskz_loadu_ps(m, x + c), acc);
    }
    a.y[r] = _mm512_reduce_add_ps(acc);
  }
}

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Software prefetch distance of the quantized kernels: decode streams each weight once, and the
// hardware prefetcher alone leaves the loads waiting (measured, Q4_K_M 0.6B decode: 1 KiB ahead
// 65 t/s, 3-8 KiB 68-70 t/s).
constexpr size_t kPrefetchAhead = 4096;

inline __m512i load_two_blocks(const int8_t* q0, const int8_t* q1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q0))),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q1)), 1);
}

inline __m512 dot_q8_blocks(__m512i w, __m512i x) {
  const __m512i abs_w = _mm512_abs_epi8(w);
  // x * sign(w): negate x where w < 0 (w == 0 gives 0 through abs_w anyway)
  const __mmask64 neg = _mm512_movepi8_mask(w);
  const __m512i x_signed = _mm512_mask_sub_epi8(x, neg, _mm512_setzero_si512(), x);
  const __m512i pairs = _mm512_maddubs_epi16(abs_w, x_signed);
  return _mm512_cvtepi32_ps(_mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
}

inline __m512 two_scales(float s0, float s1) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(s0)), _mm256_set1_ps(s1), 1);
}

template <int RN, int TN>
void micro_q8_0(const MatmulArgs& a, int64_t r, int t) {
  __m512 acc[RN][TN];
  const BlockQ8_0* w[RN];
  const BlockQ8Act* x[TN];
  for (int i = 0; i < RN; ++i) {
    w[i] = reinterpret_cast<const BlockQ8_0*>(a.w + static_cast<size_t>(r + i) * a.w_row_bytes);
    for (int j = 0; j < TN; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  for (int j = 0; j < TN; ++j) x[j] = reinterpret_cast<const BlockQ8Act*>(a.x + static_cast<size_t>(t + j) * a.x_row_bytes);
  const int64_t nb = a.k / 32;
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    __m512i xv[TN];
    for (int j = 0; j < TN; ++j) xv[j] = load_two_blocks(x[j][b].qs, x[j][b + 1].qs);
    for (int i = 0; i < RN; ++i) {
      const char* ahead = reinterpret_cast<const char*>(w[i] + b) + kPrefetchAhead;
      _mm_prefetch(ahead, _MM_HINT_T0);
      _mm_prefetch(ahead + 64, _MM_HINT_T0);
      const __m512i wv = load_two_blocks(w[i][b].qs, w[i][b + 1].qs);
      const float d0 = half_to_float(w[i][b].d), d1 = half_to_float(w[i][b + 1].d);
      for (int j = 0; j < TN; ++j) {
        acc[i][j] = _mm512_fmadd_ps(two_scales(d0 * x[j][b].d, d1 * x[j][b + 1].d), dot_q8_blocks(wv, xv[j]), acc[i][j]);
      }
    }
  }
  if (b < nb) {  // odd block count: the upper half gets a zero scale
    __m512i xv[TN];
    for (int j = 0; j < TN; ++j) xv[j] = load_two_blocks(x[j][b].qs, x[j][b].qs);
    for (int i = 0; i < RN; ++i) {
      const __m512i wv = load_two_blocks(w[i][b].qs, w[i][b].qs);
      const float d0 = half_to_float(w[i][b].d);
      for (int j = 0; j < TN; ++j) {
        acc[i][j] = _mm512_fmadd_ps(two_scales(d0 * x[j][b].d, 0.0f), dot_q8_blocks(wv, xv[j]), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < RN; ++i) {
    for (int j = 0; j < TN; ++j) a.y[(t + j) * a.y_stride + r + i] = _mm512_reduce_add_ps(acc[i][j]);
  }
}


// Micro<R, T> for the T remaining tokens (tn <= TMax).
template <template <int, int> class Micro, int R, int TMax>
inline void run_tokens(const MatmulArgs& a, int64_t r, int t, int tn) {
  if constexpr (TMax > 1) {
    if (tn < TMax) {
      run_tokens<Micro, R, TMax - 1>(a, r, t, tn);
      return;
    }
  }
  Micro<R, TMax>::run(a, r, t);
}

// Batches: blocks of 16 rows, each swept over the tokens in tiles of RN rows x TN tokens.
template <template <int, int> class Micro, int RN = 4, int TN = 4>
void tiled(const MatmulArgs& a) {
  if (a.n_tok == 1) {
    // Decode: one row after another, a single sequential stream (measured, Q4_K_M 0.6B: four rows
    // interleaved 50 t/s, one at a time 69 t/s). The sums are the same either way.
    for (int64_t r = a.r0; r < a.r1; ++r) Micro<1, 1>::run(a, r, 0);
    return;
  }
  constexpr int64_t kRowBlock = 16;
  for (int64_t rb = a.r0; rb < a.r1; rb += kRowBlock) {
    const int64_t re = rb + kRowBlock < a.r1 ? rb + kRowBlock : a.r1;
    for (int t = 0; t < a.n_tok; t += TN) {
      const int tn = a.n_tok - t < TN ? a.n_tok - t : TN;
      int64_t r = rb;
      for (; r + RN <= re; r += RN) run_tokens<Micro, RN, TN>(a, r, t, tn);
      for (; r < re; ++r) run_tokens<Micro, 1, TN>(a, r, t, tn);
    }
  }
}

template <class L>
struct FloatMicro {
  template <int RN, int TN>
  struct M {
    static void run(const MatmulArgs& a, int64_t r, int t) { micro_float<L, RN, TN>(a, r, t); }
  };
};
template <int RN, int TN>
struct Q8Micro {
  static void run(const MatmulArgs& a, int64_t r, int t) { micro_q8_0<RN, TN>(a, r, t); }
};

// ---- K-quants against Q8K activations (the unpacking: k_quant_unpack_avx512.h).
inline __m512 k_block_dot(const KBlock& u, const BlockQ8K& x, __m512 acc) {
  __m512i isum = _mm512_setzero_si512();
  for (int p = 0; p < 4; ++p) {
    const __m512i xv = _mm512_loadu_si512(x.qs + 64 * p);
    isum = _mm512_add_epi32(isum, _mm512_madd_epi16(_mm512_maddubs_epi16(u.q[p], xv), u.sc[p]));
  }
  const __m256i msum = _mm256_madd_epi16(u.offs, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.bsums)));
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(u.d * x.d), acc);
  return _mm512_fnmadd_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(msum)), _mm512_set1_ps(u.offset_scale * x.d), acc);
}


template <class Block, void (*Unpack)(const Block&, KBlock&), int RN, int TN>
void micro_k(const MatmulArgs& a, int64_t r, int t) {
  __m512 acc[RN][TN];
  const Block* w[RN];
  const BlockQ8K* x[TN];
  for (int i = 0; i < RN; ++i) {
    w[i] = reinterpret_cast<const Block*>(a.w + static_cast<size_t>(r + i) * a.w_row_bytes);
    for (int j = 0; j < TN; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  for (int j = 0; j < TN; ++j) x[j] = reinterpret_cast<const BlockQ8K*>(a.x + static_cast<size_t>(t + j) * a.x_row_bytes);
  const int64_t nb = a.k / kQ8KBlockElems;
  for (int64_t b = 0; b < nb; ++b) {
    for (int i = 0; i < RN; ++i) {
      const char* ahead = reinterpret_cast<const char*>(w[i] + b) + kPrefetchAhead;
      for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(ahead + off, _MM_HINT_T0);
      KBlock u;
      Unpack(w[i][b], u);
      for (int j = 0; j < TN; ++j) acc[i][j] = k_block_dot(u, x[j][b], acc[i][j]);
    }
  }
  for (int i = 0; i < RN; ++i) {
    for (int j = 0; j < TN; ++j) a.y[(t + j) * a.y_stride + r + i] = _mm512_reduce_add_ps(acc[i][j]);
  }
}

void unpack_q4_k(const BlockQ4_K& w, KBlock& u) { unpack_q45_k<4>(w, u); }
void unpack_q5_k(const BlockQ5_K& w, KBlock& u) { unpack_q45_k<5>(w, u); }

template <class Block, void (*Unpack)(const Block&, KBlock&)>
struct KMicro {
  template <int RN, int TN>
  struct M {
    static void run(const MatmulArgs& a, int64_t r, int t) { micro_k<Block, Unpack, RN, TN>(a, r, t); }
  };
};

// The same max, division, multiply and rounding as the scalar version: bit-identical blocks.
void quantize_q8k_act(const float* x, BlockQ8K* out, int64_t k) {
  for (int64_t b = 0; b < k / kQ8KBlockElems; ++b) {
    const float* xb = x + b * kQ8KBlockElems;
    __m512 amax = _mm512_setzero_ps();
    for (int j = 0; j < kQ8KBlockElems; j += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(xb + j)));
    const float d = _mm512_reduce_max_ps(amax) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = d;
    const __m512 idv = _mm512_set1_ps(id);
    for (int j = 0; j < kQ8KBlockElems; j += 16) {
      const __m512i q = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + j), idv),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs + j), _mm512_cvtsepi32_epi8(q));
      out[b].bsums[j / 16] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
    }
  }
}

// Batch tile shapes (rows x tokens), measured on the 0.6B shape's pp512: the K-quants unpack a
// super-block once per row and tile, so they want many tokens (1x8: Q4_K_M 175-192 t/s; 4x4 147;
// 2x8 153-156; 1x12 165-175; 1x16 170-178); the float types want rows and tokens (F16 4x4: 142-152,
// 4x6: 137-147, 2x8: 87-92).
constexpr int K_RN = 1, K_TN = 8;
constexpr int F_RN = 4, F_TN = 4;

template <class L>
void matmul_float(const MatmulArgs& a) {
  if (a.n_tok == 1) gemv_float<L>(a);
  else tiled<FloatMicro<L>::template M, F_RN, F_TN>(a);
}

void matmul_f32(const MatmulArgs& a) { matmul_float<LoadF32>(a); }
void matmul_f16(const MatmulArgs& a) { matmul_float<LoadF16>(a); }
void matmul_bf16(const MatmulArgs& a) { matmul_float<LoadBF16>(a); }
void matmul_q8_0(const MatmulArgs& a) { tiled<Q8Micro>(a); }
void matmul_q4_k(const MatmulArgs& a) { tiled<KMicro<BlockQ4_K, unpack_q4_k>::template M, K_RN, K_TN>(a); }
void matmul_q5_k(const MatmulArgs& a) { tiled<KMicro<BlockQ5_K, unpack_q5_k>::template M, K_RN, K_TN>(a); }
void matmul_q6_k(const MatmulArgs& a) { tiled<KMicro<BlockQ6_K, unpack_q6_k>::template M, K_RN, K_TN>(a); }

// Bit-identical to the scalar version (same max, division, multiply; round half to even).
void quantize_q8_act(const float* x, BlockQ8Act* out, int64_t k) {
  for (int64_t b = 0; b < k / 32; ++b) {
    const float* xb = x + b * 32;
    const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
    const __m512 amax = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
    const float d = _mm512_reduce_max_ps(amax) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = d;
    const __m512 idv = _mm512_set1_ps(id);
    const __m512i q0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v0, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i q1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v1, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs + 16), _mm512_cvtsepi32_epi8(q1));
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  const __m512 av = _mm512_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void scale_f32(float* y, float alpha, int64_t n) {
  const __m512 av = _mm512_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(av, _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(av, _mm512_maskz_loadu_ps(m, y + i)));
  }
}

double sum_squares_f64(const float* x, int64_t n) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();  // lanes 0-7, 8-15
  for (int64_t i = 0; i < n; i += 16) {
    const __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i < 16 ? n - i : 16), x + i);  // zeros past n add nothing
    const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v)), b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    lo = _mm512_fmadd_pd(a, a, lo);
    hi = _mm512_fmadd_pd(b, b, hi);
  }
  alignas(64) double acc[16];
  _mm512_store_pd(acc, lo);
  _mm512_store_pd(acc + 8, hi);
  return sum_lanes_f64(acc);
}

float scale_max_f32(float* x, float alpha, int64_t n) {
  const __m512 av = _mm512_set1_ps(alpha);
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i < 16 ? n - i : 16);
    const __m512 v = _mm512_mul_ps(av, _mm512_maskz_loadu_ps(k, x + i));
    _mm512_mask_storeu_ps(x + i, k, v);
    m = _mm512_mask_max_ps(m, k, m, v);
  }
  return _mm512_reduce_max_ps(m);
}

// exp(x) = p(r) 2^n with n = round(x log2 e), r = x - n ln 2 (in two parts) and p Cephes' degree-7
// polynomial of expf; scalef applies 2^n, to 0 below the smallest float.
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

float exp_sum_f32(float* x, float m, int64_t n) {
  const __m512 mv = _mm512_set1_ps(m);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i < 16 ? n - i : 16);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv));
    _mm512_mask_storeu_ps(x + i, k, e);
    sum = _mm512_mask_add_ps(sum, k, sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

void silu_mul_f32(float* gate, const float* up, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i < 16 ? n - i : 16);
    const __m512 g = _mm512_maskz_loadu_ps(k, gate + i);
    const __m512 s = _mm512_div_ps(g, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_mask_storeu_ps(gate + i, k, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(k, up + i)));
  }
}

// Four vectors into one whose 128-bit lane k holds [a, b, c, d]'s sums of their lane k's four floats.
inline __m512 fold4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
  const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  const __m512d abd = _mm512_castps_pd(ab), cdd = _mm512_castps_pd(cd);
  return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(abd, cdd)), _mm512_castpd_ps(_mm512_unpackhi_pd(abd, cdd)));
}

// Keys go four at a time (missing ones read as zeros), each loaded once for all the tile's queries;
// a (query, key) dot keeps one accumulator over 16-float steps (the masked tail last), and the four
// keys' accumulators are summed together by one in-lane fold: the same tree for every key, whatever
// nq, n or its place in the group.
// 16 keys or values under a mask (others 0), widened to f32.
inline __m512 load16(__mmask16 m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load16(__mmask16 m, const uint16_t* p) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }

template <class T, int nq>
void attn_scores_n(const float* q, int64_t q_stride, const T* keys, int n, int64_t dim, float* scores) {
  const __mmask16 tail = tail_mask(dim % 16);
  const int64_t body = dim - dim % 16;
  for (int j0 = 0; j0 < n; j0 += 4) {
    const int nk = n - j0 < 4 ? n - j0 : 4;
    const T* k[4];
    __mmask16 live[4];
    for (int c = 0; c < 4; ++c) {
      k[c] = keys + (j0 + (c < nk ? c : 0)) * dim;
      live[c] = c < nk ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>(0);
    }
    __m512 acc[nq][4];
    for (int i = 0; i < nq; ++i) {
      for (int c = 0; c < 4; ++c) acc[i][c] = _mm512_setzero_ps();
    }
    for (int64_t d = 0; d < body; d += 16) {
      __m512 kv[4];
      for (int c = 0; c < 4; ++c) kv[c] = load16(live[c], k[c] + d);
      for (int i = 0; i < nq; ++i) {
        const __m512 qv = _mm512_loadu_ps(q + i * q_stride + d);
        for (int c = 0; c < 4; ++c) acc[i][c] = _mm512_fmadd_ps(qv, kv[c], acc[i][c]);
      }
    }
    if (body < dim) {
      __m512 kv[4];
      for (int c = 0; c < 4; ++c) kv[c] = load16(static_cast<__mmask16>(live[c] & tail), k[c] + body);
      for (int i = 0; i < nq; ++i) {
        const __m512 qv = _mm512_maskz_loadu_ps(tail, q + i * q_stride + body);
        for (int c = 0; c < 4; ++c) acc[i][c] = _mm512_fmadd_ps(qv, kv[c], acc[i][c]);
      }
    }
    for (int i = 0; i < nq; ++i) {
      __m512 v = fold4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
      v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
      v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
      _mm_mask_storeu_ps(scores + i * n + j0, static_cast<__mmask8>((1u << nk) - 1u), _mm512_castps512_ps128(v));
    }
  }
}

// Per output chunk of 64 floats (16 for the rest, masked at the end), all queries' accumulators stay
// in registers across the n values.
template <class T, int nq>
void attn_accumulate_n(const float* p, int n, const T* vals, int64_t dim, float* out, int64_t out_stride) {
  int64_t d = 0;
  for (; d + 64 <= dim; d += 64) {
    __m512 acc[nq][4];
    for (int i = 0; i < nq; ++i) {
      for (int c = 0; c < 4; ++c) acc[i][c] = _mm512_loadu_ps(out + i * out_stride + d + 16 * c);
    }
    for (int j = 0; j < n; ++j) {
      const T* v = vals + j * dim + d;
      const __m512 v0 = load16(0xFFFF, v), v1 = load16(0xFFFF, v + 16), v2 = load16(0xFFFF, v + 32), v3 = load16(0xFFFF, v + 48);
      for (int i = 0; i < nq; ++i) {
        const __m512 pij = _mm512_set1_ps(p[i * n + j]);
        acc[i][0] = _mm512_fmadd_ps(pij, v0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(pij, v1, acc[i][1]);
        acc[i][2] = _mm512_fmadd_ps(pij, v2, acc[i][2]);
        acc[i][3] = _mm512_fmadd_ps(pij, v3, acc[i][3]);
      }
    }
    for (int i = 0; i < nq; ++i) {
      for (int c = 0; c < 4; ++c) _mm512_storeu_ps(out + i * out_stride + d + 16 * c, acc[i][c]);
    }
  }
  for (; d < dim; d += 16) {
    const __mmask16 m = tail_mask(dim - d < 16 ? dim - d : 16);
    __m512 acc[nq];
    for (int i = 0; i < nq; ++i) acc[i] = _mm512_maskz_loadu_ps(m, out + i * out_stride + d);
    for (int j = 0; j < n; ++j) {
      const __m512 v = load16(m, vals + j * dim + d);
      for (int i = 0; i < nq; ++i) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(p[i * n + j]), v, acc[i]);
    }
    for (int i = 0; i < nq; ++i) _mm512_mask_storeu_ps(out + i * out_stride + d, m, acc[i]);
  }
}

template <class T>
void attn_scores(const float* q, int64_t q_stride, int nq, const T* keys, int n, int64_t dim, float* scores) {
  for_query_groups(nq, [&]<int N>(int i) { attn_scores_n<T, N>(q + i * q_stride, q_stride, keys, n, dim, scores + i * n); });
}
template <class T>
void attn_accumulate(const float* p, int nq, int n, const T* vals, int64_t dim, float* out, int64_t out_stride) {
  for_query_groups(nq, [&]<int N>(int i) { attn_accumulate_n<T, N>(p + i * n, n, vals, dim, out + i * out_stride, out_stride); });
}

void f32_to_f16(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i < 16 ? n - i : 16);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(k, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(out + i, k, h);
  }
}

uint64_t stream_read(const std::byte* p, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 256 <= n; i += 256) {
    a0 = _mm512_xor_si512(a0, _mm512_loadu_si512(p + i));
    a1 = _mm512_xor_si512(a1, _mm512_loadu_si512(p + i + 64));
    a2 = _mm512_xor_si512(a2, _mm512_loadu_si512(p + i + 128));
    a3 = _mm512_xor_si512(a3, _mm512_loadu_si512(p + i + 192));
  }
  const __m512i x = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
  return static_cast<uint64_t>(_mm512_reduce_or_epi64(x));
}

// Not yet specialised: dequantize and dot (kernels.h).
void matmul_q4_0(const MatmulArgs& a) { matmul_dequantized(a, DType::Q4_0, dot_f32); }

}  // namespace

const KernelTable& avx512_kernels() {
  static const KernelTable table = {
      Isa::Avx512,
      {{ActFormat::F32, matmul_f32},
       {ActFormat::F32, matmul_f16},
       {ActFormat::F32, matmul_bf16},
       {ActFormat::Q8, matmul_q8_0},
       {ActFormat::F32, matmul_q4_0},
       {ActFormat::Q8K, matmul_q4_k},
       {ActFormat::Q8K, matmul_q5_k},
       {ActFormat::Q8K, matmul_q6_k}},
      quantize_q8_act,
      quantize_q8k_act,
      dot_f32,
      axpy_f32,
      scale_f32,
      sum_squares_f64,
      scale_max_f32,
      exp_sum_f32,
      silu_mul_f32,
      attn_scores<float>,
      attn_accumulate<float>,
      attn_scores<uint16_t>,
      attn_accumulate<uint16_t>,
      f32_to_f16,
      stream_read,
  };
  return table;
}

// The same with the VNNI kernels where there are some (Q8_0 against Q8Sum activations, the K-quants).
const KernelTable& avx512_vnni_kernels() {
  static const KernelTable table = [] {
    KernelTable t = avx512_kernels();
    t.isa = Isa::Avx512Vnni;
    t.matmul[static_cast<int>(DType::Q8_0)] = {ActFormat::Q8Sum, matmul_q8_0_avx512_vnni, matmul_q8_0_groups_avx512_vnni};
    t.matmul[static_cast<int>(DType::Q4_K)] = {ActFormat::Q8K, matmul_q4_k_avx512_vnni, matmul_q4_k_groups_avx512_vnni};
    t.matmul[static_cast<int>(DType::Q5_K)] = {ActFormat::Q8K, matmul_q5_k_avx512_vnni, matmul_q5_k_groups_avx512_vnni};
    t.matmul[static_cast<int>(DType::Q6_K)] = {ActFormat::Q8K, matmul_q6_k_avx512_vnni};
    return t;
  }();
  return table;
}

}  // namespace qwenrt::kernels
