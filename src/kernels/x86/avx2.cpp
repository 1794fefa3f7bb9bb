// AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c; everything here is in an
// anonymous namespace and uses only intrinsics, so no AVX2 code can leak into shared inline
// functions (see kernels.h).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/kernels.h"
#include "kernels/x86/k4_scales.h"
#include "tensor/quant.h"

namespace qwenrt::kernels {
namespace {

inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

// ---- float-weight matmul (F32, F16, BF16): weights widened to f32, FMA with f32 activations ----

struct LoadF32 {
  static __m256 load8(const std::byte* w, int64_t c) { return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + c); }
  static float load1(const std::byte* w, int64_t c) { return reinterpret_cast<const float*>(w)[c]; }
};
struct LoadF16 {
  static __m256 load8(const std::byte* w, int64_t c) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(w) + c)));
  }
  static float load1(const std::byte* w, int64_t c) { return _cvtsh_ss(reinterpret_cast<const uint16_t*>(w)[c]); }
};
struct LoadBF16 {
  static __m256 load8(const std::byte* w, int64_t c) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(w) + c));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float load1(const std::byte* w, int64_t c) {
    const uint32_t bits = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(w)[c]) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
};

// RN weight rows x TN tokens, full dot products over k.
template <class L, int RN, int TN>
void micro_float(const MatmulArgs& a, int64_t r, int t) {
  __m256 acc[RN][TN];
  const std::byte* w[RN];
  const float* x[TN];
  for (int i = 0; i < RN; ++i) {
    w[i] = a.w + static_cast<size_t>(r + i) * a.w_row_bytes;
    for (int j = 0; j < TN; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  for (int j = 0; j < TN; ++j) x[j] = reinterpret_cast<const float*>(a.x + static_cast<size_t>(t + j) * a.x_row_bytes);
  int64_t c = 0;
  for (; c + 8 <= a.k; c += 8) {
    __m256 xv[TN];
    for (int j = 0; j < TN; ++j) xv[j] = _mm256_loadu_ps(x[j] + c);
    for (int i = 0; i < RN; ++i) {
      const __m256 wv = L::load8(w[i], c);
      for (int j = 0; j < TN; ++j) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < RN; ++i) {
    for (int j = 0; j < TN; ++j) {
      float s = hsum(acc[i][j]);
      for (int64_t cc = c; cc < a.k; ++cc) s += L::load1(w[i], cc) * x[j][cc];
      a.y[(t + j) * a.y_stride + r + i] = s;
    }
  }
}

// Decode (one token): rows one after another as a single sequential stream, software prefetch
// ahead (see avx512.cpp), in micro_float's summation order (one accumulator, 8 columns a step, the
// scalar tail last) so that a token's result is bit-identical alone and inside a batch.
template <class L>
void gemv_float(const MatmulArgs& a) {
  const float* x = reinterpret_cast<const float*>(a.x);
  constexpr int64_t kPrefetchBytes = 2048;
  const size_t elem = a.w_row_bytes / static_cast<size_t>(a.k);
  for (int64_t r = a.r0; r < a.r1; ++r) {
    const std::byte* w = a.w + static_cast<size_t>(r) * a.w_row_bytes;
    __m256 acc = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c + 32 <= a.k; c += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(w + static_cast<size_t>(c) * elem + kPrefetchBytes), _MM_HINT_T0);
      acc = _mm256_fmadd_ps(L::load8(w, c), _mm256_loadu_ps(x + c), acc);
      acc = _mm256_fmadd_ps(L::load8(w, c + 8), _mm256_loadu_ps(x + c + 8), acc);
      acc = _mm256_fmadd_ps(L::load8(w, c + 16), _mm256_loadu_ps(x + c + 16), acc);
      acc = _mm256_fmadd_ps(L::load8(w, c + 24), _mm256_loadu_ps(x + c + 24), acc);
    }
    for (; c + 8 <= a.k; c += 8) acc = _mm256_fmadd_ps(L::load8(w, c), _mm256_loadu_ps(x + c), acc);
    float s = hsum(acc);
    for (; c < a.k; ++c) s += L::load1(w, c) * x[c];
    a.y[r] = s;
  }
}

// ---- Q8_0 weights x Q8 activations: int8 dot products per 32-block, scaled in float ----

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

inline __m256 dot_q8_block(__m256i w, __m256i x) {
  const __m256i abs_w = _mm256_sign_epi8(w, w);
  const __m256i x_signed = _mm256_sign_epi8(x, w);
  const __m256i pairs = _mm256_maddubs_epi16(abs_w, x_signed);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

// Software prefetch distance of the quantized kernels (see avx512.cpp).
constexpr size_t kPrefetchAhead = 4096;

template <int RN, int TN>
void micro_q8_0(const MatmulArgs& a, int64_t r, int t) {
  __m256 acc[RN][TN];
  const BlockQ8_0* w[RN];
  const BlockQ8Act* x[TN];
  for (int i = 0; i < RN; ++i) {
    w[i] = reinterpret_cast<const BlockQ8_0*>(a.w + static_cast<size_t>(r + i) * a.w_row_bytes);
    for (int j = 0; j < TN; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  for (int j = 0; j < TN; ++j) x[j] = reinterpret_cast<const BlockQ8Act*>(a.x + static_cast<size_t>(t + j) * a.x_row_bytes);
  const int64_t nb = a.k / 32;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i xv[TN];
    for (int j = 0; j < TN; ++j) xv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].qs));
    for (int i = 0; i < RN; ++i) {
      if (b % 2 == 0) _mm_prefetch(reinterpret_cast<const char*>(w[i] + b) + kPrefetchAhead, _MM_HINT_T0);
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[i][b].qs));
      const float dw = _cvtsh_ss(w[i][b].d);
      for (int j = 0; j < TN; ++j) {
        acc[i][j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[j][b].d), dot_q8_block(wv, xv[j]), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < RN; ++i) {
    for (int j = 0; j < TN; ++j) a.y[(t + j) * a.y_stride + r + i] = hsum(acc[i][j]);
  }
}

// ---- tiling: decode (one token) walks 4 rows at a time; batches use 2 rows x 4 tokens tiles
// over blocks of 16 rows so a block's weights stay in cache while all tokens pass over them ----

template <template <int, int> class Micro>
void tiled(const MatmulArgs& a) {
  if (a.n_tok == 1) {
    // Decode: one row after another, a single sequential stream (see avx512.cpp). Same sums.
    for (int64_t r = a.r0; r < a.r1; ++r) Micro<1, 1>::run(a, r, 0);
    return;
  }
  constexpr int64_t kRowBlock = 16;
  for (int64_t rb = a.r0; rb < a.r1; rb += kRowBlock) {
    const int64_t re = rb + kRowBlock < a.r1 ? rb + kRowBlock : a.r1;
    for (int t = 0; t < a.n_tok; t += 4) {
      const int tn = a.n_tok - t < 4 ? a.n_tok - t : 4;
      int64_t r = rb;
      for (; r + 2 <= re; r += 2) {
        switch (tn) {
          case 4: Micro<2, 4>::run(a, r, t); break;
          case 3: Micro<2, 3>::run(a, r, t); break;
          case 2: Micro<2, 2>::run(a, r, t); break;
          default: Micro<2, 1>::run(a, r, t); break;
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

// ---- K-quants against Q8K activations (see avx512.cpp): eight 32-value pieces per super-block,
// each unpacked to unsigned levels with its sub-block scale(s) as 16-bit multipliers.
// The 12 packed bytes -> [scale 0..7, min 0..7]: k4_scales_mins (k4_scales.h).

struct KHeader {
  alignas(16) uint8_t sm[16];  // Q4_K / Q5_K: scales then mins
  __m256i offs;                // i16 coefficients of the 16 activation sums
  float d, offset_scale;
};

template <int kBits, class Block>
struct Q45K {
  static void header(const Block& w, KHeader& h) {
    const __m128i sm = k4_scales_mins(w.scales);
    _mm_store_si128(reinterpret_cast<__m128i*>(h.sm), sm);
    const __m256i pattern = _mm256_setr_epi8(8, -128, 8, -128, 9, -128, 9, -128, 10, -128, 10, -128, 11, -128, 11, -128, 12,
                                             -128, 12, -128, 13, -128, 13, -128, 14, -128, 14, -128, 15, -128, 15, -128);
    h.offs = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(sm), pattern);
    h.d = _cvtsh_ss(w.d);
    h.offset_scale = _cvtsh_ss(w.dmin);
  }
  static void piece(const Block& w, const KHeader& h, int p, __m256i& q, __m256i& sc) {
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i src = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * (p / 2)));
    q = _mm256_and_si256(p % 2 ? _mm256_srli_epi16(src, 4) : src, nib);
    if constexpr (kBits == 5) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh));
      const __m256i bit = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(p)), _mm256_set1_epi8(1));
      q = _mm256_or_si256(q, _mm256_slli_epi16(bit, 4));
    }
    sc = _mm256_set1_epi16(h.sm[p]);
  }
};

struct Q6K {
  static void header(const BlockQ6_K& w, KHeader& h) {
    h.offs = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales)));
    h.d = _cvtsh_ss(w.d);
    h.offset_scale = 32.0f * h.d;
  }
  // Piece p: values 32p..32p+31 = half p / 4, quarter t = p % 4 (nibbles of ql, bits 2t of qh).
  static void piece(const BlockQ6_K& w, const KHeader&, int p, __m256i& q, __m256i& sc) {
    const int half = p / 4, t = p % 4;
    const __m256i src = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.ql + 64 * half + 32 * (t % 2)));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * half));
    const __m256i nib = _mm256_and_si256(t < 2 ? src : _mm256_srli_epi16(src, 4), _mm256_set1_epi8(0x0F));
    const __m256i hb = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * t)), _mm256_set1_epi8(0x03));
    q = _mm256_or_si256(nib, _mm256_slli_epi16(hb, 4));
    const int s0 = w.scales[8 * half + 2 * t], s1 = w.scales[8 * half + 2 * t + 1];
    sc = _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(s1)), _mm_set1_epi16(static_cast<int16_t>(s0)));
  }
};

template <class Block, class Kind, int RN, int TN>
void micro_k(const MatmulArgs& a, int64_t r, int t) {
  __m256 acc[RN][TN];
  const Block* w[RN];
  const BlockQ8K* x[TN];
  for (int i = 0; i < RN; ++i) {
    w[i] = reinterpret_cast<const Block*>(a.w + static_cast<size_t>(r + i) * a.w_row_bytes);
    for (int j = 0; j < TN; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  for (int j = 0; j < TN; ++j) x[j] = reinterpret_cast<const BlockQ8K*>(a.x + static_cast<size_t>(t + j) * a.x_row_bytes);
  const int64_t nb = a.k / kQ8KBlockElems;
  for (int64_t b = 0; b < nb; ++b) {
    for (int i = 0; i < RN; ++i) {
      const char* ahead = reinterpret_cast<const char*>(w[i] + b) + kPrefetchAhead;
      for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(ahead + off, _MM_HINT_T0);
      KHeader h;
      Kind::header(w[i][b], h);
      __m256i isum[TN];
      for (int j = 0; j < TN; ++j) isum[j] = _mm256_setzero_si256();
      for (int p = 0; p < 8; ++p) {
        __m256i q, sc;
        Kind::piece(w[i][b], h, p, q, sc);
        for (int j = 0; j < TN; ++j) {
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].qs + 32 * p));
          isum[j] = _mm256_add_epi32(isum[j], _mm256_madd_epi16(_mm256_maddubs_epi16(q, xv), sc));
        }
      }
      for (int j = 0; j < TN; ++j) {
        const __m256i msum = _mm256_madd_epi16(h.offs, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j][b].bsums)));
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_set1_ps(h.d * x[j][b].d), acc[i][j]);
        acc[i][j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(h.offset_scale * x[j][b].d), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < RN; ++i) {
    for (int j = 0; j < TN; ++j) a.y[(t + j) * a.y_stride + r + i] = hsum(acc[i][j]);
  }
}

template <class Block, class Kind>
struct KMicro {
  template <int RN, int TN>
  struct M {
    static void run(const MatmulArgs& a, int64_t r, int t) { micro_k<Block, Kind, RN, TN>(a, r, t); }
  };
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
void matmul_q4_k(const MatmulArgs& a) { tiled<KMicro<BlockQ4_K, Q45K<4, BlockQ4_K>>::template M>(a); }
void matmul_q5_k(const MatmulArgs& a) { tiled<KMicro<BlockQ5_K, Q45K<5, BlockQ5_K>>::template M>(a); }
void matmul_q6_k(const MatmulArgs& a) { tiled<KMicro<BlockQ6_K, Q6K>::template M>(a); }

// Bit-identical to the scalar version: same max, same division, same multiply, round to even.
void quantize_q8_act(const float* x, BlockQ8Act* out, int64_t k) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < k / 32; ++b) {
    const float* xb = x + b * 32;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(xb + 8 * i);
      amax = _mm256_max_ps(amax, _mm256_and_ps(v[i], abs_mask));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float d = _mm_cvtss_f32(m) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = d;
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) {
      q[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    const __m256i p01 = _mm256_packs_epi32(q[0], q[1]);
    const __m256i p23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), perm);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs), p);
  }
}

// The same max, division, multiply and rounding as the scalar version: bit-identical blocks.
void quantize_q8k_act(const float* x, BlockQ8K* out, int64_t k) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < k / kQ8KBlockElems; ++b) {
    const float* xb = x + b * kQ8KBlockElems;
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < kQ8KBlockElems; i += 8) amax = _mm256_max_ps(amax, _mm256_and_ps(_mm256_loadu_ps(xb + i), abs_mask));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float d = _mm_cvtss_f32(m) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = d;
    const __m256 idv = _mm256_set1_ps(id);
    for (int g = 0; g < kQ8KBlockElems; g += 32) {
      __m256i q[4];
      for (int i = 0; i < 4; ++i) {
        q[i] = _mm256_cvtps_epi32(
            _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xb + g + 8 * i), idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      }
      const __m256i p = _mm256_permutevar8x32_epi32(
          _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3])), perm);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs + g), p);
    }
    for (int g = 0; g < kQ8KBlockElems / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += out[b].qs[16 * g + j];
      out[b].bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  const __m256 av = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

void scale_f32(float* y, float alpha, int64_t n) {
  const __m256 av = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(av, _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] *= alpha;
}

double sum_squares_f64(const float* x, int64_t n) {
  __m256d v[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int c = 0; c < 4; ++c) {
      const __m256d d = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * c));
      v[c] = _mm256_fmadd_pd(d, d, v[c]);
    }
  }
  alignas(32) double acc[16];
  for (int c = 0; c < 4; ++c) _mm256_store_pd(acc + 4 * c, v[c]);
  for (; i < n; ++i) acc[i % 16] += static_cast<double>(x[i]) * x[i];
  return sum_lanes_f64(acc);
}

float scale_max_f32(float* x, float alpha, int64_t n) {
  const __m256 av = _mm256_set1_ps(alpha);
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_mul_ps(av, _mm256_loadu_ps(x + i));
    _mm256_storeu_ps(x + i, v);
    m = _mm256_max_ps(m, v);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float out = lanes[0];
  for (int l = 1; l < 8; ++l) out = std::max(out, lanes[l]);
  for (; i < n; ++i) out = std::max(out, x[i] *= alpha);
  return out;
}

// exp(x) = p(r) 2^n, as the AVX-512 level computes it (Cephes' expf polynomial); 2^n built in the
// exponent bits, and 0 below -87.3 (where 2^n would not be a normal float).
inline __m256 exp_ps(__m256 x) {
  const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

float exp_sum_f32(float* x, float m, int64_t n) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sum = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    _mm256_storeu_ps(x + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (i < n) {
    alignas(32) float buf[8] = {};
    for (int64_t j = i; j < n; ++j) buf[j - i] = x[j] - m;
    const __m256 e = _mm256_and_ps(exp_ps(_mm256_load_ps(buf)),
                                   _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)),
                                                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
    _mm256_store_ps(buf, e);
    for (int64_t j = i; j < n; ++j) x[j] = buf[j - i];
    sum = _mm256_add_ps(sum, e);
  }
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
  const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}

void silu_mul_f32(float* gate, const float* up, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 s = _mm256_div_ps(g, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// 8 keys or values, widened to f32; one element.
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline float widen(float v) { return v; }
inline float widen(uint16_t h) { return _cvtsh_ss(h); }

// a . b with b's elements widened from T to f32 (dot_f32 is T = float), in one fixed order.
template <class T>
float dot_widened(const float* a, const T* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load8(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum = std::fma(a[i], widen(b[i]), sum);  // explicit: the same for every T
  return sum;
}

float dot_f32(const float* a, const float* b, int64_t n) { return dot_widened(a, b, n); }

template <class T, int nq>
void attn_scores_n(const float* q, int64_t q_stride, const T* keys, int n, int64_t dim, float* scores) {
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < nq; ++i) scores[i * n + j] = dot_widened(q + i * q_stride, keys + j * dim, dim);
  }
}

// Per output chunk of 8 floats, all queries' accumulators stay in registers across the n values.
template <class T, int nq>
void attn_accumulate_n(const float* p, int n, const T* vals, int64_t dim, float* out, int64_t out_stride) {
  int64_t d = 0;
  for (; d + 8 <= dim; d += 8) {
    __m256 acc[nq];
    for (int i = 0; i < nq; ++i) acc[i] = _mm256_loadu_ps(out + i * out_stride + d);
    for (int j = 0; j < n; ++j) {
      const __m256 v = load8(vals + j * dim + d);
      for (int i = 0; i < nq; ++i) acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(p[i * n + j]), v, acc[i]);
    }
    for (int i = 0; i < nq; ++i) _mm256_storeu_ps(out + i * out_stride + d, acc[i]);
  }
  for (; d < dim; ++d) {
    for (int i = 0; i < nq; ++i) {
      float o = out[i * out_stride + d];
      for (int j = 0; j < n; ++j) o = std::fma(p[i * n + j], widen(vals[j * dim + d]), o);
      out[i * out_stride + d] = o;
    }
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
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) out[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

uint64_t stream_read(const std::byte* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return static_cast<uint64_t>(_mm256_extract_epi64(x, 0) ^ _mm256_extract_epi64(x, 3));
}

// Not yet specialised: dequantize and dot (kernels.h).
void matmul_q4_0(const MatmulArgs& a) { matmul_dequantized(a, DType::Q4_0, dot_f32); }

}  // namespace

const KernelTable& avx2_kernels() {
  static const KernelTable table = {
      Isa::Avx2,
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

}  // namespace qwenrt::kernels
