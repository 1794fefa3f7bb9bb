#pragma once
// The AVX-512 unpacking of a K-quant super-block (Q4_K, Q5_K, Q6_K), shared by the AVX-512 and the
// AVX-512 VNNI translation units. Everything is in an anonymous namespace on purpose: each of those
// units, compiled with its own ISA flags, gets its own copy, so no other unit can end up linked to an
// AVX-512 instance of an inline function (see kernels.h). Include it only from x86/avx512*.cpp.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/x86/k4_scales.h"
#include "tensor/quant.h"

namespace qwenrt::kernels {
namespace {

inline float half_to_float(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

// Each super-block of a row unpacks into four pieces of 64
// unsigned levels (values 64p .. 64p + 63, as the activations lie) with a 16-bit multiplier per
// pair of values (its sub-block's scale): maddubs (levels x activations, pairs summed) and madd (x
// the multipliers, pairs summed) leave a whole super-block's scaled dot in 16 int32 lanes. The offset
// term (Q4_K / Q5_K's mins, Q6_K's +32 bias) is the activations' sums of 16 times 16 coefficients.
struct KBlock {
  __m512i q[4];
  __m512i sc[4];
  __m256i offs;  // i16 coefficients of the 16 activation sums
  float d, offset_scale;
};

// pshufb patterns for the scale multipliers. k4[p]: piece p's i16 lanes take byte 2p (its first 32
// values) or 2p + 1 (the next 32) of [scales, mins], high byte zero. q6[i]: each 128-bit lane (16
// values) repeats one scale byte, 8h + 4 piece + lane, to be sign-extended by a shift.
struct ScalePatterns {
  alignas(64) int8_t k4[4][64];
  alignas(64) int8_t q6[4][64];
};
constexpr ScalePatterns make_scale_patterns() {
  ScalePatterns s{};
  for (int p = 0; p < 4; ++p) {
    for (int i = 0; i < 64; ++i) {
      const int lane = i / 16;
      s.k4[p][i] = static_cast<int8_t>(i % 2 == 0 ? (lane < 2 ? 2 * p : 2 * p + 1) : -128);
      s.q6[p][i] = static_cast<int8_t>(8 * (p / 2) + 4 * (p % 2) + lane);
    }
  }
  return s;
}
constexpr ScalePatterns kScalePatterns = make_scale_patterns();

inline __m512i load_pattern(const int8_t* p) { return _mm512_load_si512(p); }

template <int kBits, class Block>
inline void unpack_q45_k(const Block& w, KBlock& u) {
  const __m512i nib = _mm512_set1_epi8(0x0F);
  const __m512i halves = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);  // >> 0 | >> 4
  const __m128i sm = k4_scales_mins(w.scales);
  const __m512i sm4 = _mm512_broadcast_i32x4(sm);
  __m512i qh2;
  if constexpr (kBits == 5) {
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh)));
    qh2 = _mm512_srlv_epi16(qh, _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(1), 1));  // [qh, qh >> 1]
  }
  for (int p = 0; p < 4; ++p) {
    const __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs + 32 * p)));
    u.q[p] = _mm512_and_si512(_mm512_srlv_epi16(q, halves), nib);
    if constexpr (kBits == 5) {
      const __m512i bit = _mm512_and_si512(_mm512_srli_epi16(qh2, static_cast<unsigned>(2 * p)), _mm512_set1_epi8(1));
      u.q[p] = _mm512_or_si512(u.q[p], _mm512_slli_epi16(bit, 4));
    }
    u.sc[p] = _mm512_shuffle_epi8(sm4, load_pattern(kScalePatterns.k4[p]));
  }
  // [m0, m0, m1, m1, ..., m7, m7]: each min covers two sums of 16.
  const __m256i mins_pattern = _mm256_setr_epi8(8, -128, 8, -128, 9, -128, 9, -128, 10, -128, 10, -128, 11, -128, 11, -128,
                                                12, -128, 12, -128, 13, -128, 13, -128, 14, -128, 14, -128, 15, -128, 15, -128);
  u.offs = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(sm), mins_pattern);
  u.d = half_to_float(w.d);
  u.offset_scale = half_to_float(w.dmin);
}

inline void unpack_q6_k(const BlockQ6_K& w, KBlock& u) {
  const __m512i nib = _mm512_set1_epi8(0x0F), two = _mm512_set1_epi8(0x03);
  const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.scales));
  const __m512i sc4 = _mm512_broadcast_i32x4(sc);
  for (int h = 0; h < 2; ++h) {
    const __m512i ql = _mm512_loadu_si512(w.ql + 64 * h);
    const __m512i qh1 = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qh + 32 * h)));
    const __m512i qh = _mm512_srlv_epi16(qh1, _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1));
    // Values 128h + 0..63: low nibbles of ql, qh bits 0-1 (first 32) and 2-3 (next 32).
    u.q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, nib), _mm512_slli_epi16(_mm512_and_si512(qh, two), 4));
    // Values 128h + 64..127: high nibbles, qh bits 4-5 and 6-7.
    u.q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), nib),
                                     _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 4), two), 4));
    // Each 128-bit lane (16 values) takes one signed scale: the byte twice, shifted down with its sign.
    for (int piece = 0; piece < 2; ++piece) {
      const __m512i pattern = load_pattern(kScalePatterns.q6[2 * h + piece]);
      u.sc[2 * h + piece] = _mm512_srai_epi16(_mm512_shuffle_epi8(sc4, pattern), 8);
    }
  }
  u.offs = _mm256_cvtepi8_epi16(sc);
  u.d = half_to_float(w.d);
  u.offset_scale = 32.0f * u.d;
}

}  // namespace
}  // namespace qwenrt::kernels
