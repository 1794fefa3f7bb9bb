// AVX-512 (F, BW, VL, DQ) kernels. Same structure as avx2.cpp with 16-wide vectors and masked
// tails; compiled with its own flags and kept in an anonymous namespace (see kernels.h).
#include <immintrin.h>

#include <cstring>

#include "kernels/kernels.h"

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
// prefetcher follows it; interleaving several rows was measured slower), software prefetch 2 KiB
// ahead. The summation order is micro_float's (one accumulator, 16 columns a step, the masked tail
// last), so a token's result is bit-identical alone and inside a batch: a server's greedy streams
// do not change with what else runs. One FMA chain is enough here: its latency allows more than
// the memory delivers (measured: faster than four accumulators with sparser prefetch).
template <class L>
void gemv_float(const MatmulArgs& a) {
  const float* x = reinterpret_cast<const float*>(a.x);
  constexpr size_t kPrefetchBytes = 2048;
  const size_t elem = a.w_row_bytes / static_cast<size_t>(a.k);
  for (int64_t r = a.r0; r < a.r1; ++r) {
    const std::byte* w = a.w + static_cast<size_t>(r) * a.w_row_bytes;
    __m512 acc = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 32 <= a.k; c += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(w + static_cast<size_t>(c) * elem + kPrefetchBytes), _MM_HINT_T0);
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

inline float half_to_float(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

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

template <template <int, int> class Micro>
void tiled(const MatmulArgs& a) {
  if (a.n_tok == 1) {
    int64_t r = a.r0;
    for (; r + 4 <= a.r1; r += 4) Micro<4, 1>::run(a, r, 0);
    for (; r < a.r1; ++r) Micro<1, 1>::run(a, r, 0);
    return;
  }
  constexpr int64_t kRowBlock = 16;
  for (int64_t rb = a.r0; rb < a.r1; rb += kRowBlock) {
    const int64_t re = rb + kRowBlock < a.r1 ? rb + kRowBlock : a.r1;
    for (int t = 0; t < a.n_tok; t += 4) {
      const int tn = a.n_tok - t < 4 ? a.n_tok - t : 4;
      int64_t r = rb;
      for (; r + 4 <= re; r += 4) {
        switch (tn) {
          case 4: Micro<4, 4>::run(a, r, t); break;
          case 3: Micro<4, 3>::run(a, r, t); break;
          case 2: Micro<4, 2>::run(a, r, t); break;
          default: Micro<4, 1>::run(a, r, t); break;
        }
      }
      for (; r < re; ++r) {
        switch (tn) {
          case 4: Micro<1, 4>::run(a, r, t); break;
          case 3: Micro<1, 3>::run(a, r, t); break;
          case 2: Micro<1, 2>::run(a, r, t); break;
          default: Micro<1, 1>::run(a, r, t); break;
        }
      }
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

template <class L>
void matmul_float(const MatmulArgs& a) {
  if (a.n_tok == 1) gemv_float<L>(a);
  else tiled<FloatMicro<L>::template M>(a);
}

void matmul_f32(const MatmulArgs& a) { matmul_float<LoadF32>(a); }
void matmul_f16(const MatmulArgs& a) { matmul_float<LoadF16>(a); }
void matmul_bf16(const MatmulArgs& a) { matmul_float<LoadBF16>(a); }
void matmul_q8_0(const MatmulArgs& a) { tiled<Q8Micro>(a); }

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
void matmul_q4_k(const MatmulArgs& a) { matmul_dequantized(a, DType::Q4_K, dot_f32); }
void matmul_q5_k(const MatmulArgs& a) { matmul_dequantized(a, DType::Q5_K, dot_f32); }
void matmul_q6_k(const MatmulArgs& a) { matmul_dequantized(a, DType::Q6_K, dot_f32); }

}  // namespace

const KernelTable& avx512_kernels() {
  static const KernelTable table = {
      Isa::Avx512,
      {{ActFormat::F32, matmul_f32},
       {ActFormat::F32, matmul_f16},
       {ActFormat::F32, matmul_bf16},
       {ActFormat::Q8, matmul_q8_0},
       {ActFormat::F32, matmul_q4_0},
       {ActFormat::F32, matmul_q4_k},
       {ActFormat::F32, matmul_q5_k},
       {ActFormat::F32, matmul_q6_k}},
      quantize_q8_act,
      dot_f32,
      axpy_f32,
      scale_f32,
      stream_read,
  };
  return table;
}

}  // namespace qwenrt::kernels
