#pragma once
// Q4_K / Q5_K's 12 packed scale bytes unpacked (SSE2 only), shared by the AVX2 and AVX-512 units; in an
// anonymous namespace so that each ISA unit keeps its own copy (see kernels.h).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace qwenrt::kernels {
namespace {

// The 12 packed bytes -> 16 bytes [scale 0..7, min 0..7] (ggml's get_scale_min_k4, four at a time:
// the first four of each are the low 6 bits of bytes 0-3 / 4-7; the last four take their low 4 bits
// from bytes 8-11 and their top 2 from the top bits of bytes 0-3 / 4-7).
inline __m128i k4_scales_mins(const uint8_t* packed) {
  uint32_t lo, mid, hi;
  std::memcpy(&lo, packed, 4);
  std::memcpy(&mid, packed + 4, 4);
  std::memcpy(&hi, packed + 8, 4);
  const uint32_t sc_lo = lo & 0x3F3F3F3Fu, m_lo = mid & 0x3F3F3F3Fu;
  const uint32_t sc_hi = (hi & 0x0F0F0F0Fu) | (((lo >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((hi >> 4) & 0x0F0F0F0Fu) | (((mid >> 6) & 0x03030303u) << 4);
  return _mm_set_epi32(static_cast<int>(m_hi), static_cast<int>(m_lo), static_cast<int>(sc_hi), static_cast<int>(sc_lo));
}

}  // namespace
}  // namespace qwenrt::kernels
