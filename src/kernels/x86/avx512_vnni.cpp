// AVX-512 VNNI kernels (vpdpbusd: 64 unsigned x signed byte products summed into 16 int32 lanes per
// instruction). The rest of this level's table is the AVX-512 one (avx512.cpp).
//
// Q8_0 against Q8Sum activations. Every row's result is the same expression, whatever the batch:
// with dot_b the exact int32 dot of block b's 32 weight and activation bytes and s_b = d_w[b] * d_x[b],
//   acc[l] = 0; for b in order: acc[b % 16] = fma(s_b, float(dot_b), acc[b % 16]);
//   result = the fixed tree sum of acc[0..15] (tree_sum below).
// Two layouts compute it:
//  - one token (decode) reads each row once, in order (a single stream the prefetchers follow):
//    16 blocks' dots land in 16 lanes after an integer transpose-add, lanes are the acc[l];
//  - a batch first packs 16 rows into a panel (lane r of vector c holds bytes 4c..4c+3 of row r's
//    block), so a block costs 8 vpdpbusd per token with the activation bytes broadcast from memory;
//    lanes are rows there and the 16 acc[l] live in memory.
// Weights enter vpdpbusd as unsigned (w + 128, a flip of the top bit); the activation row's block sums
// (-128 x sum, stored by the Q8Sum format) cancel the offset exactly.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/kernels.h"

namespace qwenrt::kernels {
namespace {

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

constexpr int kLanes = 16;
// Software prefetch distance of the in-place reads (as the AVX-512 quantized kernels, measured there).
constexpr size_t kPrefetchAhead = 4096;

const int32_t* block_offsets(const std::byte* act_row, int64_t nb) {
  return reinterpret_cast<const int32_t*>(act_row + static_cast<size_t>(nb) * sizeof(BlockQ8Act));
}
inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Offsets of 16 lanes `stride` bytes apart.
inline __m512i lane_offsets(int64_t stride) {
  return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32(static_cast<int32_t>(stride)));
}
inline __mmask16 first_lanes(int64_t n) { return n >= kLanes ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u); }

// Half-float scales at `base` + the lanes' offsets, as floats (lanes outside `m` zero).
inline __m512 gather_scales(__mmask16 m, const std::byte* base, __m512i offsets) {
  const __m512i raw = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, offsets, base, 1);
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw));
}

// Transpose-add: 8 vectors, vector z holding 8 partial sums of item 2z (low half) and of item 2z + 1
// (high half), into one vector of the 16 items' totals in order. Mostly in-lane shuffles (cheaper
// than cross-lane ones): four vectors fold into one whose 128-bit lane k holds their k-th quarter
// sums; adding the lane pairs finishes each item; one permute restores the order.
inline __m512i fold4(__m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
  const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
}
inline __m512i item_totals(const __m512i p[8]) {
  __m512i e = fold4(p[0], p[1], p[2], p[3]), f = fold4(p[4], p[5], p[6], p[7]);
  e = _mm512_add_epi32(e, _mm512_shuffle_i32x4(e, e, _MM_SHUFFLE(2, 3, 0, 1)));  // lanes 0, 2: items 0 2 4 6, 1 3 5 7
  f = _mm512_add_epi32(f, _mm512_shuffle_i32x4(f, f, _MM_SHUFFLE(2, 3, 0, 1)));  // items 8 10 12 14, 9 11 13 15
  const __m512i r = _mm512_shuffle_i32x4(e, f, _MM_SHUFFLE(2, 0, 2, 0));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15), r);
}

// The fixed order in which acc[0..15] are summed: halves, then quarters, eighths, the last pair.
inline float tree_sum(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  const __m128 e = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(e, _mm_movehdup_ps(e)));
}
// The same tree across 16 vectors, lane-wise (one result per lane).
inline __m512 tree_sum_lanes(const __m512* acc) {
  __m512 t[8];
  for (int i = 0; i < 8; ++i) t[i] = _mm512_add_ps(acc[i], acc[i + 8]);
  for (int i = 0; i < 4; ++i) t[i] = _mm512_add_ps(t[i], t[i + 4]);
  for (int i = 0; i < 2; ++i) t[i] = _mm512_add_ps(t[i], t[i + 2]);
  return _mm512_add_ps(t[0], t[1]);
}

// One token's activation scales, 16 blocks a vector (zero past the last block).
void gather_act_scales(const std::byte* act_row, int64_t nb, std::vector<float>& out) {
  const __m512i offsets = lane_offsets(sizeof(BlockQ8Act));
  out.resize(static_cast<size_t>((nb + kLanes - 1) / kLanes) * kLanes);
  for (int64_t g = 0; g * kLanes < nb; ++g) {
    const __m512i raw = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), first_lanes(nb - g * kLanes), offsets,
                                                    act_row + g * kLanes * static_cast<int64_t>(sizeof(BlockQ8Act)), 1);
    _mm512_storeu_si512(out.data() + g * kLanes, raw);
  }
}

// The int32 partial dots of two consecutive blocks (or of one, the other's lanes zero), top bits of
// the weights flipped: 8 lanes a block.
inline __m512i dot_two_blocks(const std::byte* w, const BlockQ8Act* x, bool both) {
  const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2));
  const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[0].qs));
  __m512i wv, xv;
  if (both) {
    wv = _mm512_inserti64x4(_mm512_castsi256_si512(w0), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + sizeof(BlockQ8_0) + 2)), 1);
    xv = _mm512_inserti64x4(_mm512_castsi256_si512(x0), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[1].qs)), 1);
  } else {
    wv = _mm512_zextsi256_si512(w0);
    xv = _mm512_zextsi256_si512(x0);
  }
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(wv, _mm512_set1_epi8(static_cast<char>(0x80))), xv);
}

// One token (a.x), rows [a.r0, a.r1), each read once front to back.
void gemv(const MatmulArgs& a) {
  const int64_t nb = a.k / 32;
  thread_local std::vector<float> x_scales;
  gather_act_scales(a.x, nb, x_scales);
  const auto* xq = reinterpret_cast<const BlockQ8Act*>(a.x);
  const int32_t* x_offsets = block_offsets(a.x, nb);
  for (int64_t r = a.r0; r < a.r1; ++r) {
    const std::byte* row = a.w + static_cast<size_t>(r) * a.w_row_bytes;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t g = 0; g * kLanes < nb; ++g) {
      const int64_t b0 = g * kLanes, nblk = nb - b0 < kLanes ? nb - b0 : kLanes;
      const std::byte* blocks = row + static_cast<size_t>(b0) * sizeof(BlockQ8_0);
      for (size_t off = 0; off < kLanes * sizeof(BlockQ8_0); off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(blocks + off + kPrefetchAhead), _MM_HINT_T0);
      }
      __m512i p[8];
      if (nblk == kLanes) {
        for (int z = 0; z < 8; ++z) p[z] = dot_two_blocks(blocks + 2 * z * sizeof(BlockQ8_0), xq + b0 + 2 * z, true);
      } else {
        for (int z = 0; z < 8; ++z) {
          p[z] = 2 * z < nblk ? dot_two_blocks(blocks + 2 * z * sizeof(BlockQ8_0), xq + b0 + 2 * z, 2 * z + 1 < nblk)
                              : _mm512_setzero_si512();
        }
      }
      const __mmask16 m = first_lanes(nblk);
      const __m512i dot = _mm512_add_epi32(item_totals(p), _mm512_maskz_loadu_epi32(m, x_offsets + b0));
      // The weight scales by plain loads (measured faster than a gather here).
      alignas(32) uint16_t dh[kLanes] = {};
      for (int i = 0; i < nblk; ++i) std::memcpy(dh + i, blocks + i * sizeof(BlockQ8_0), 2);
      const __m512 w_scales = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(dh)));
      const __m512 scale = _mm512_mul_ps(w_scales, _mm512_loadu_ps(x_scales.data() + g * kLanes));
      acc = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot), acc);
    }
    a.y[r] = tree_sum(acc);
  }
}

// 16 rows of one block, packed: q[c] lane r = bytes 4c..4c+3 of row r (top bits flipped), d = scales.
struct alignas(64) PanelBlock {
  __m512i q[8];
  __m512 d;
};

void pack_panel(const MatmulArgs& a, int64_t r, int n, PanelBlock* out) {
  const int64_t nb = a.k / 32;
  const std::byte* rows = a.w + static_cast<size_t>(r) * a.w_row_bytes;
  const __mmask16 m = first_lanes(n);
  const __m512i offsets = lane_offsets(static_cast<int64_t>(a.w_row_bytes));
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; ++b) {
    const std::byte* blk = rows + b * static_cast<int64_t>(sizeof(BlockQ8_0));
    for (int c = 0; c < 8; ++c) {
      out[b].q[c] = _mm512_xor_si512(_mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, offsets, blk + 2 + 4 * c, 1), flip);
    }
    out[b].d = gather_scales(m, blk, offsets);
  }
}

template <int TN>
void panel_tokens(const MatmulArgs& a, const PanelBlock* panel, int64_t r, int n, int t) {
  const int64_t nb = a.k / 32;
  const BlockQ8Act* x[TN];
  const int32_t* x_offsets[TN];
  __m512 acc[TN][kLanes];
  for (int j = 0; j < TN; ++j) {
    const std::byte* row = a.x + static_cast<size_t>(t + j) * a.x_row_bytes;
    x[j] = reinterpret_cast<const BlockQ8Act*>(row);
    x_offsets[j] = block_offsets(row, nb);
    for (int l = 0; l < kLanes; ++l) acc[j][l] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const PanelBlock& pb = panel[b];
    const int l = static_cast<int>(b % kLanes);
    for (int j = 0; j < TN; ++j) {
      __m512i dot = _mm512_set1_epi32(load_i32(x_offsets[j] + b));
      for (int c = 0; c < 8; ++c) dot = _mm512_dpbusd_epi32(dot, pb.q[c], _mm512_set1_epi32(load_i32(x[j][b].qs + 4 * c)));
      const __m512 scale = _mm512_mul_ps(pb.d, _mm512_set1_ps(x[j][b].d));
      acc[j][l] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot), acc[j][l]);
    }
  }
  const __mmask16 m = first_lanes(n);
  for (int j = 0; j < TN; ++j) _mm512_mask_storeu_ps(a.y + (t + j) * a.y_stride + r, m, tree_sum_lanes(acc[j]));
}

// Below this many tokens, packing costs more than reading the rows in place once per token.
constexpr int kPanelMinTokens = 4;

}  // namespace

void matmul_q8_0_avx512_vnni(const MatmulArgs& a) {
  if (a.n_tok < kPanelMinTokens) {
    for (int t = 0; t < a.n_tok; ++t) {
      MatmulArgs one = a;
      one.x = a.x + static_cast<size_t>(t) * a.x_row_bytes;
      one.y = a.y + t * a.y_stride;
      gemv(one);
    }
    return;
  }
  thread_local std::vector<PanelBlock> panel;
  panel.resize(static_cast<size_t>(a.k / 32));
  for (int64_t r = a.r0; r < a.r1; r += kLanes) {
    const int n = static_cast<int>(a.r1 - r < kLanes ? a.r1 - r : kLanes);
    pack_panel(a, r, n, panel.data());
    int t = 0;
    for (; t + 8 <= a.n_tok; t += 8) panel_tokens<8>(a, panel.data(), r, n, t);
    switch (a.n_tok - t) {
      case 7: panel_tokens<7>(a, panel.data(), r, n, t); break;
      case 6: panel_tokens<6>(a, panel.data(), r, n, t); break;
      case 5: panel_tokens<5>(a, panel.data(), r, n, t); break;
      case 4: panel_tokens<4>(a, panel.data(), r, n, t); break;
      case 3: panel_tokens<3>(a, panel.data(), r, n, t); break;
      case 2: panel_tokens<2>(a, panel.data(), r, n, t); break;
      case 1: panel_tokens<1>(a, panel.data(), r, n, t); break;
      default: break;
    }
  }
}

}  // namespace qwenrt::kernels
