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
//  - a batch reads 16 rows as a row group (row_groups.h: lane r of word vector c holds bytes
//    4c..4c+3 of row r's block), so a block costs 8 vpdpbusd per token with the activation bytes
//    broadcast from memory; lanes are rows there and the 16 acc[l] live in memory. Weights stored
//    in row groups are read in place for every token count; rows are first copied into one.
// Weights enter vpdpbusd as unsigned (w + 128, a flip of the top bit); the activation row's block sums
// (-128 x sum, stored by the Q8Sum format) cancel the offset exactly.
//
// The K-quants (Q4_K, Q5_K, Q6_K) against Q8K activations, also one expression per row: with isum_b
// super-block b's exact int32 sum over its sub-blocks of scale x (levels . activation bytes), osum_b
// the exact sum of its offset coefficients (Q4_K / Q5_K's mins, Q6_K's scales for its -32) times
// the activations' sums of 16, d_b its scale, o_b its offset scale (dmin, or 32 d) and dx_b the
// activations' scale:
//   v_b = fma(float(isum_b), d_b * dx_b, -(float(osum_b) * (o_b * dx_b)));
//   acc[l] = 0; for b in order: acc[b % 8] += v_b;  result = the fixed tree sum of acc[0..7] (tree8).
//  - one token reads each row in place and unpacks it as the AVX-512 kernels do; 8 super-blocks'
//    integer sums are finished together by one transpose-add, and their float steps run in 8 lanes;
//  - a batch reads 16 rows as a row group, as Q8_0 does, and splits the levels out of its words
//    (lane r holds 4 consecutive levels of row r, the scales and coefficients one int per lane): a
//    sub-block costs 4 or 8 vpdpbusd and one multiply by its scales per token, for 16 rows at once,
//    with lanes as rows. Many tokens split the levels once into a panel; weights stored in row
//    groups (Q4_K, Q5_K) are read in place, decode included. Q6_K stays in rows: its levels take
//    more shifts to split than decode can hide behind the memory (25 GB/s in row groups against
//    30 in rows, BM_LinearDecodeLarge, with a Q6_K row-group kernel that was then left out).
#include <immintrin.h>

#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/row_groups.h"
#include "kernels/x86/k_quant_unpack_avx512.h"

namespace qwenrt::kernels {
namespace {

struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

constexpr int kLanes = 16;
// Software prefetch of the in-place reads of decode: 16 KiB ahead into L2. Measured on 0.6B Q4_K_M and
// Q8_0 decode against 4 KiB into L1 (the AVX-512 level's choice), alternating: up to 10 % faster, never
// slower: an L1 prefetch holds one of the core's few fill buffers until its line arrives, and the longer
// distance (a few rows ahead) keeps enough lines in flight.
constexpr size_t kPrefetchAhead = 16384;
constexpr size_t kGroupPrefetchAhead = 32768;  // the same for row groups (kPrefetchGroups)

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

// acc[0..7] summed in a fixed order: halves, then quarters, then the last pair (lane-wise in tree8_lanes).
inline float tree8(__m256 v) {
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}
inline __m512 tree8_lanes(const __m512* acc) {
  __m512 h[4];
  for (int i = 0; i < 4; ++i) h[i] = _mm512_add_ps(acc[i], acc[i + 4]);
  return _mm512_add_ps(_mm512_add_ps(h[0], h[2]), _mm512_add_ps(h[1], h[3]));
}
// acc[0..15]: halves, then tree8 (quarters, eighths, the last pair).
inline float tree_sum(__m512 v) { return tree8(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1))); }
// The same tree across 16 vectors, lane-wise (one result per lane).
inline __m512 tree_sum_lanes(const __m512* acc) {
  __m512 t[8];
  for (int i = 0; i < 8; ++i) t[i] = _mm512_add_ps(acc[i], acc[i + 8]);
  return tree8_lanes(t);
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
        _mm_prefetch(reinterpret_cast<const char*>(blocks + off + kPrefetchAhead), _MM_HINT_T1);
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

// The 8 dwords (or the first 4, `words` 4) of 32 bytes at `at(i)` of 16 rows i (rows from n on
// read as zeros) as vectors, lane i of out[c] holding row i's dword c. Rows i and i + 8 go into one
// vector (halves), and an 8 x 8 transpose of dwords inside each half (unpacks, then one two-source
// permute per pair of outputs) turns the 8 vectors into the 8 columns: loads and shuffles, which
// cost less than 8 gathers. A load of 4 words is masked, so it never reads past them.
template <class At>
inline void load_columns(At at, int n, int words, __m512i out[8]) {
  const __mmask8 m = words == 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>(0x0F);
  auto row = [&](int i) { return i < n ? _mm256_maskz_loadu_epi32(m, at(i)) : _mm256_setzero_si256(); };
  __m512i v[8], t[8], u[8];
  for (int i = 0; i < 8; ++i) v[i] = _mm512_inserti64x4(_mm512_castsi256_si512(row(i)), row(i + 8), 1);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
  }
  for (int g = 0; g < 8; g += 4) {
    u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
  // u[c] (rows 0-3, 8-11) and u[c + 4] (rows 4-7, 12-15): 128-bit lanes 0 and 2 hold column c, 1 and 3 column c + 4.
  const __m512i lo_cols = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi_cols = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (int c = 0; c < 4; ++c) {
    out[c] = _mm512_permutex2var_epi64(u[c], lo_cols, u[c + 4]);
    out[c + 4] = _mm512_permutex2var_epi64(u[c], hi_cols, u[c + 4]);
  }
}

inline __m512i gather_i32(__mmask16 m, __m512i offsets, const void* base) {
  return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, offsets, base, 1);
}

// Rows [r, r + n) of a.w (n <= 16) into the row-group layout `l` (row_groups.h) at `out`, lanes
// from n on zero: the same vectors a row group stores, so one kernel serves both layouts. The
// words by 8-word transposes; the stray half by a gather (with the 2 bytes before it when it ends
// the block, so the gather stays inside it).
void rows_to_group(const MatmulArgs& a, const RowGroupBlock& l, int64_t r, int n, std::byte* out) {
  const int64_t nb = a.k / l.block_elems;
  const std::byte* rows = a.w + static_cast<size_t>(r) * a.w_row_bytes;
  const __mmask16 m = first_lanes(n);
  const __m512i offsets = lane_offsets(static_cast<int64_t>(a.w_row_bytes));
  const size_t group_block = static_cast<size_t>(l.block_bytes) * kRowGroup;
  for (int64_t b = 0; b < nb; ++b) {
    const std::byte* blk = rows + b * l.block_bytes;
    std::byte* g = out + static_cast<size_t>(b) * group_block;
    for (int w0 = 0; w0 < l.n_words; w0 += 8) {
      const int words = l.n_words - w0 < 8 ? l.n_words - w0 : 8;
      __m512i cols[8];
      load_columns([&](int i) { return blk + static_cast<size_t>(i) * a.w_row_bytes + l.word_offset + 4 * w0; }, n, words, cols);
      for (int c = 0; c < words; ++c) _mm512_storeu_si512(g + (w0 + c) * 64, cols[c]);
    }
    if (l.half_offset >= 0) {
      const bool last = l.half_offset + 4 > l.block_bytes;
      __m512i h = gather_i32(m, offsets, blk + l.half_offset - (last ? 2 : 0));
      if (last) h = _mm512_srli_epi32(h, 16);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(g + l.n_words * 64), _mm512_cvtepi32_epi16(h));
    }
  }
}

// Below this many tokens, copying rows into a row group costs more than reading them in place once
// per token (the row kernels, tokens_one_by_one).
constexpr int kPanelMinTokens = 4;

// Decode and tiles of a few tokens read a row group's weights once, where they are: the blocks
// 32 KiB ahead are prefetched into L2 (bench_kernels' BM_LinearDecodeLarge, Q4_K in row groups:
// 32.9 GB/s against 29.0 at 16 KiB). Tiles of more tokens come after the whole group was brought
// in by prefetch_next_panel. A compile-time choice: GCC deleted the prefetches as dead code when a
// run-time flag guarded them.
template <int TN>
constexpr bool kPrefetchGroups = TN < kPanelMinTokens;

template <size_t kBytes>
__attribute__((always_inline)) inline void prefetch_ahead(const std::byte* at) {
  const char* p = reinterpret_cast<const char*>(at) + kGroupPrefetchAhead;
#pragma GCC unroll 64
  for (size_t off = 0; off < kBytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T1);
}

// Q8_0 block b of a row group: its 8 words of 16 rows (top bits flipped for vpdpbusd), its scales.
struct GroupQ8Blocks {
  static constexpr size_t kBlock = kRowGroup * sizeof(BlockQ8_0);
  const std::byte* group;
  __m512i q(int64_t b, int c) const {
    const __m512i v = _mm512_loadu_si512(group + static_cast<size_t>(b) * kBlock + 64 * static_cast<size_t>(c));
    return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)));
  }
  __m512 d(int64_t b) const {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + static_cast<size_t>(b) * kBlock + 512)));
  }
  void prefetch(int64_t b) const { prefetch_ahead<kBlock>(group + static_cast<size_t>(b) * kBlock); }
};

template <int TN>
void q8_tokens(const MatmulArgs& a, const GroupQ8Blocks& blocks, int64_t r, int n, int t) {
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
    if constexpr (kPrefetchGroups<TN>) blocks.prefetch(b);
    const int l = static_cast<int>(b % kLanes);
    // Tokens innermost: TN independent vpdpbusd chains (as in k_tokens).
    __m512i dot[TN];
#pragma GCC unroll 16
    for (int j = 0; j < TN; ++j) dot[j] = _mm512_set1_epi32(load_i32(x_offsets[j] + b));
    for (int c = 0; c < 8; ++c) {
      const __m512i q = blocks.q(b, c);
#pragma GCC unroll 16
      for (int j = 0; j < TN; ++j) dot[j] = _mm512_dpbusd_epi32(dot[j], q, _mm512_set1_epi32(load_i32(x[j][b].qs + 4 * c)));
    }
    const __m512 d = blocks.d(b);
#pragma GCC unroll 16
    for (int j = 0; j < TN; ++j) {
      const __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(x[j][b].d));
      acc[j][l] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot[j]), acc[j][l]);
    }
  }
  const __mmask16 m = first_lanes(n);
  for (int j = 0; j < TN; ++j) _mm512_mask_storeu_ps(a.y + (t + j) * a.y_stride + r, m, tree_sum_lanes(acc[j]));
}

// f.template operator()<I>() for I in [0, N), unrolled.
template <int N, class F>
__attribute__((always_inline)) inline void static_for(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { (f.template operator()<I>(), ...); }(std::make_integer_sequence<int, N>{});
}

// f.template operator()<TN>(t) over the tokens in tiles of 8, then one tile of the rest.
template <class F>
void for_token_tiles(int n_tok, F&& f) {
  int t = 0;
  for (; t + 8 <= n_tok; t += 8) f.template operator()<8>(t);
  switch (n_tok - t) {
    case 7: f.template operator()<7>(t); break;
    case 6: f.template operator()<6>(t); break;
    case 5: f.template operator()<5>(t); break;
    case 4: f.template operator()<4>(t); break;
    case 3: f.template operator()<3>(t); break;
    case 2: f.template operator()<2>(t); break;
    case 1: f.template operator()<1>(t); break;
    default: break;
  }
}

// The next panel's rows (contiguous: 16 rows of the matrix) into L2 while this one is packed and
// used. Packing reads 16 rows side by side, more streams than the hardware prefetcher follows, and
// waited on those loads: most of all for MoE experts, whose panels serve few tokens each.
inline void prefetch_next_panel(const MatmulArgs& a, int64_t r) {
  const int64_t next = r + kLanes;
  if (next >= a.r1) return;
  const int64_t rows = a.r1 - next < kLanes ? a.r1 - next : kLanes;
  const char* p = reinterpret_cast<const char*>(a.w + static_cast<size_t>(next) * a.w_row_bytes);
  const size_t bytes = static_cast<size_t>(rows) * a.w_row_bytes;
  for (size_t off = 0; off < bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T1);
}

// Fewer than kPanelMinTokens tokens: each through `One`, the decode kernel, by itself. Returns whether it did.
template <void (*One)(const MatmulArgs&)>
bool tokens_one_by_one(const MatmulArgs& a) {
  if (a.n_tok >= kPanelMinTokens) return false;
  for (int t = 0; t < a.n_tok; ++t) {
    MatmulArgs one = a;
    one.x = a.x + static_cast<size_t>(t) * a.x_row_bytes;
    one.y = a.y + t * a.y_stride;
    One(one);
  }
  return true;
}

}  // namespace

void matmul_q8_0_avx512_vnni(const MatmulArgs& a) {
  if (tokens_one_by_one<gemv>(a)) return;
  const RowGroupBlock& l = *row_group_block(DType::Q8_0);
  thread_local std::vector<std::byte> group;
  group.resize(static_cast<size_t>(a.k / 32) * GroupQ8Blocks::kBlock);
  for (int64_t r = a.r0; r < a.r1; r += kLanes) {
    const int n = static_cast<int>(a.r1 - r < kLanes ? a.r1 - r : kLanes);
    prefetch_next_panel(a, r);
    rows_to_group(a, l, r, n, group.data());
    const GroupQ8Blocks blocks{group.data()};
    for_token_tiles(a.n_tok, [&]<int TN>(int t) { q8_tokens<TN>(a, blocks, r, n, t); });
  }
}

// Row groups need no packing: every token count reads the group's words as they are.
void matmul_q8_0_groups_avx512_vnni(const MatmulArgs& a) {
  for (int64_t r = a.r0; r < a.r1; r += kRowGroup) {
    const GroupQ8Blocks blocks{a.w + static_cast<size_t>(r) * a.w_row_bytes};
    for_token_tiles(a.n_tok, [&]<int TN>(int t) { q8_tokens<TN>(a, blocks, r, kRowGroup, t); });
  }
}

namespace {

// ---- K-quants.


// Up to 8 super-blocks of one token: slot z (z < n) is src(z) = {the block, its index in its row}.
// Their exact integer sums come out of one transpose-add, then their float steps v_b run in 8 lanes
// (lanes from n on are 0). dx: the activations' scale of each slot's block.
template <class Block, void (*Unpack)(const Block&, KBlock&), class Src>
__attribute__((always_inline)) inline __m256 k_group(Src src, int n, const BlockQ8K* x, __m256 dx) {
  // isum[z]: slot z's 16 lanes (its two halves are two items of the transpose-add);
  // osum[z / 2]: slots 2z and 2z + 1's 8 lanes each.
  __m512i isum[8], osum[8];
  alignas(32) float dw[8] = {}, ow[8] = {};
  for (int z = 4; z < 8; ++z) osum[z] = _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int z = 0; z < 8; ++z) {
    if (z >= n) {
      isum[z] = _mm512_setzero_si512();
      if (z % 2 == 0) osum[z / 2] = _mm512_setzero_si512();
      continue;
    }
    const auto [w, b] = src(z);
    const char* ahead = reinterpret_cast<const char*>(w) + kPrefetchAhead;
    for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(ahead + off, _MM_HINT_T1);
    KBlock u;
    Unpack(*w, u);
    const BlockQ8K& xb = x[b];
    __m512i part[2];
    for (int h = 0; h < 2; ++h) {
      part[h] = _mm512_madd_epi16(_mm512_maddubs_epi16(u.q[h], _mm512_loadu_si512(xb.qs + 64 * h)), u.sc[h]);
      part[h] = _mm512_dpwssd_epi32(part[h], _mm512_maddubs_epi16(u.q[h + 2], _mm512_loadu_si512(xb.qs + 64 * (h + 2))), u.sc[h + 2]);
    }
    isum[z] = _mm512_add_epi32(part[0], part[1]);
    const __m256i o = _mm256_madd_epi16(u.offs, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.bsums)));
    osum[z / 2] = z % 2 == 0 ? _mm512_zextsi256_si512(o) : _mm512_inserti64x4(osum[z / 2], o, 1);
    dw[z] = u.d;
    ow[z] = u.offset_scale;
  }
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  // Lanes 0..7 of `halves` and 8..15 are each slot's two half totals; osum's lanes 0..7 its totals.
  const __m512i halves = _mm512_permutexvar_epi32(even, item_totals(isum));
  const __m256i isum8 = _mm256_add_epi32(_mm512_castsi512_si256(halves), _mm512_extracti64x4_epi64(halves, 1));
  const __m256i osum8 = _mm512_castsi512_si256(item_totals(osum));
  const __m256 off = _mm256_mul_ps(_mm256_cvtepi32_ps(osum8), _mm256_mul_ps(_mm256_load_ps(ow), dx));
  return _mm256_fmsub_ps(_mm256_cvtepi32_ps(isum8), _mm256_mul_ps(_mm256_load_ps(dw), dx), off);
}

// One token, rows one after another, each read once front to back: 8 super-blocks' exact integer
// sums at a time, then their float steps in 8 lanes (acc[b % 8] of the row). A row whose last group
// has 1 to 4 super-blocks (k = 1024 or 3072: most of a 0.6B model's matrices; 768, a 30B-A3B expert's
// down projection) shares that group with the next row's, whose lanes are then moved down to 0, 1...:
// the same sums, fewer groups.
template <class Block, void (*Unpack)(const Block&, KBlock&)>
void k_gemv(const MatmulArgs& a) {
  const int64_t nb = a.k / kQ8KBlockElems;
  const int64_t full = nb / 8 * 8;
  const int tail = static_cast<int>(nb - full);
  const auto* x = reinterpret_cast<const BlockQ8K*>(a.x);
  thread_local std::vector<float> x_scales;
  x_scales.assign(static_cast<size_t>((nb + 7) / 8 * 8), 0.0f);
  for (int64_t b = 0; b < nb; ++b) x_scales[static_cast<size_t>(b)] = x[b].d;
  auto row_of = [&](int64_t r) { return reinterpret_cast<const Block*>(a.w + static_cast<size_t>(r) * a.w_row_bytes); };
  auto full_groups = [&](const Block* row) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b0 = 0; b0 < full; b0 += 8) {
      auto src = [&](int z) { return std::pair{row + b0 + z, b0 + z}; };
      acc = _mm256_add_ps(acc, k_group<Block, Unpack>(src, 8, x, _mm256_loadu_ps(x_scales.data() + b0)));
    }
    return acc;
  };
  int64_t r = a.r0;
  if (tail > 0 && tail <= 4) {
    // Slots [0, tail) are row r's last blocks, [tail, 2 tail) row r + 1's.
    const __m256i twice = _mm256_setr_epi32(0, 1 % tail, 2 % tail, 3 % tail, 4 % tail, 5 % tail, 6 % tail, 7 % tail);
    const __m256i second = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(tail));
    const __m256 dx = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x_scales.data() + full), twice);
    const auto mask = static_cast<__mmask8>((1u << tail) - 1u);
    for (; r + 1 < a.r1; r += 2) {
      const Block* r0 = row_of(r);
      const Block* r1 = row_of(r + 1);
      __m256 acc0 = full_groups(r0), acc1 = full_groups(r1);
      auto src = [&](int z) {
        return z < tail ? std::pair{r0 + full + z, full + z} : std::pair{r1 + full + z - tail, full + z - tail};
      };
      const __m256 v = k_group<Block, Unpack>(src, 2 * tail, x, dx);
      acc0 = _mm256_mask_add_ps(acc0, mask, acc0, v);
      acc1 = _mm256_mask_add_ps(acc1, mask, acc1, _mm256_permutevar8x32_ps(v, second));
      a.y[r] = tree8(acc0);
      a.y[r + 1] = tree8(acc1);
    }
  }
  for (; r < a.r1; ++r) {
    const Block* row = row_of(r);
    __m256 acc = full_groups(row);
    if (tail > 0) {
      auto src = [&](int z) { return std::pair{row + full + z, full + z}; };
      const __m256 v = k_group<Block, Unpack>(src, tail, x, _mm256_loadu_ps(x_scales.data() + full));
      acc = _mm256_mask_add_ps(acc, static_cast<__mmask8>((1u << tail) - 1u), acc, v);
    }
    a.y[r] = tree8(acc);
  }
}

// The scales of one super-block of 16 rows, lanes as rows: sc[s] the sub-block scales, offs[i] the
// coefficients of the activations' sums of 16 number 2i and 2i + 1 (two int16), d and o the
// super-block's scale and offset scale.
struct KScales {
  __m512i sc[16];  // Q4_K / Q5_K use the first 8 (sub-blocks of 32), Q6_K all 16 (sub-blocks of 16)
  __m512i offs[8];
  __m512 d, o;
};

inline __m512i bytes_of(__m512i v, int shift, int mask) {
  return _mm512_and_si512(_mm512_srli_epi32(v, static_cast<unsigned>(shift)), _mm512_set1_epi8(static_cast<char>(mask)));
}
// v shifted left by kShift bits (right when negative), no shift for 0: a compile-time count, as
// shifts are the scarce unit in splitting levels out of words.
template <int kShift>
__attribute__((always_inline)) inline __m512i shift_bits(__m512i v) {
  if constexpr (kShift > 0) return _mm512_slli_epi32(v, kShift);
  else if constexpr (kShift < 0) return _mm512_srli_epi32(v, -kShift);
  else return v;
}
// lo | (hi & mask), one instruction.
inline __m512i or_masked(__m512i lo, __m512i hi, int mask) {
  return _mm512_ternarylogic_epi32(lo, hi, _mm512_set1_epi8(static_cast<char>(mask)), 0xF8);
}
// The low nibbles (kHigh false) or the high ones of each byte.
template <bool kHigh>
__attribute__((always_inline)) inline __m512i nibbles(__m512i v) {
  return _mm512_and_si512(shift_bits<kHigh ? -4 : 0>(v), _mm512_set1_epi8(0x0F));
}

// Super-block b of a row group: word(off) lane r = row r's 4 bytes at byte `off` of its block as
// the file lays it out, halves(off) a half-float field as floats.
struct KGroupBlock {
  const std::byte* base;  // 16 x the block's words, then its halves
  int n_words;
  __m512i word(size_t off) const { return _mm512_loadu_si512(base + off / 4 * 64); }
  __m512 halves(size_t off) const {
    if (off / 4 >= static_cast<size_t>(n_words)) {
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + static_cast<size_t>(n_words) * 64)));
    }
    const __m512i w = word(off & ~size_t{3});
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(off % 4 != 0 ? _mm512_srli_epi32(w, 16) : w));
  }
};

// Q4_K / Q5_K: byte qs[32p + l] holds value 64p + l (low nibble) and 64p + 32 + l (high nibble);
// Q5_K's fifth bit of value 32j + l is bit j of qh[l]. level(i): the 16 rows' levels 4i..4i+3
// (sub-block i / 8), unsigned bytes.
template <class Block, bool kFifthBit>
struct K4Quant {
  using B = Block;
  static constexpr DType kType = kFifthBit ? DType::Q5_K : DType::Q4_K;
  static constexpr int kSubBlocks = 8;
  template <int i>
  static __m512i level(const KGroupBlock& g) {
    constexpr int j = i / 8, c = i % 8;
    const __m512i v = nibbles<j % 2 == 1>(g.word(offsetof(Block, qs) + 32 * (j / 2) + 4 * c));
    if constexpr (!kFifthBit) return v;
    else return or_masked(v, shift_bits<4 - j>(g.word(offsetof(Block, qh) + 4 * c)), 0x10);  // bit j to bit 4
  }
  // The 12 packed scale bytes per lane (ggml's get_scale_min_k4, 16 rows at once): scales 0-3 and
  // mins 0-3 are the low 6 bits of bytes 0-3 / 4-7; scales and mins 4-7 take their low 4 bits from
  // bytes 8-11 and their top 2 from the top bits of bytes 0-3 / 4-7.
  static void scales(const KGroupBlock& g, KScales& k) {
    const __m512i lo = g.word(offsetof(Block, scales));
    const __m512i mid = g.word(offsetof(Block, scales) + 4);
    const __m512i hi = g.word(offsetof(Block, scales) + 8);
    const __m512i six = _mm512_set1_epi8(0x3F);
    const __m512i sc4[2] = {_mm512_and_si512(lo, six),
                            _mm512_or_si512(bytes_of(hi, 0, 0x0F), _mm512_slli_epi32(bytes_of(lo, 6, 0x03), 4))};
    const __m512i mn4[2] = {_mm512_and_si512(mid, six),
                            _mm512_or_si512(bytes_of(hi, 4, 0x0F), _mm512_slli_epi32(bytes_of(mid, 6, 0x03), 4))};
    for (int j = 0; j < 8; ++j) {
      const unsigned shift = static_cast<unsigned>(8 * (j % 4));
      k.sc[j] = _mm512_and_si512(_mm512_srli_epi32(sc4[j / 4], shift), _mm512_set1_epi32(0xFF));
      const __m512i mn = _mm512_and_si512(_mm512_srli_epi32(mn4[j / 4], shift), _mm512_set1_epi32(0xFF));
      k.offs[j] = _mm512_or_si512(mn, _mm512_slli_epi32(mn, 16));  // min j covers the sums of 16 number 2j and 2j + 1
    }
    k.d = g.halves(offsetof(Block, d));
    k.o = g.halves(offsetof(Block, dmin));
  }
};

// Q6_K: value 128h + 32q + l has its low 4 bits in ql[64h + 32(q & 1) + l] (low nibble for q < 2),
// its top 2 in bits 2q, 2q + 1 of qh[32h + l], and the signed scale of its 16.
struct Q6Quant {
  using B = BlockQ6_K;
  static constexpr DType kType = DType::Q6_K;
  static constexpr int kSubBlocks = 16;
  template <int i>
  static __m512i level(const KGroupBlock& g) {
    constexpr int h = i / 32, q = i / 8 % 4, c = i % 8;
    const __m512i lo = nibbles<q / 2 == 1>(g.word(offsetof(BlockQ6_K, ql) + 64 * h + 32 * (q % 2) + 4 * c));
    return or_masked(lo, shift_bits<4 - 2 * q>(g.word(offsetof(BlockQ6_K, qh) + 32 * h + 4 * c)), 0x30);  // bits 2q, 2q + 1 to 4, 5
  }
  static void scales(const KGroupBlock& g, KScales& k) {
    for (int w = 0; w < 4; ++w) {
      const __m512i four = g.word(offsetof(BlockQ6_K, scales) + 4 * w);
      static_for<4>([&]<int i>() { k.sc[4 * w + i] = _mm512_srai_epi32(shift_bits<24 - 8 * i>(four), 24); });
    }
    for (int i = 0; i < 8; ++i) {
      k.offs[i] = _mm512_or_si512(_mm512_and_si512(k.sc[2 * i], _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(k.sc[2 * i + 1], 16));
    }
    k.d = g.halves(offsetof(BlockQ6_K, d));
    k.o = _mm512_mul_ps(k.d, _mm512_set1_ps(32.0f));
  }
};

// Where k_tokens finds super-block b's levels and scales: split out of a row group as they are
// used (GroupLevels), or from a panel that split them once for all the tokens (PanelLevels, which
// pays when many tokens share it: a level vector is then one load instead of a load and shifts).
struct alignas(64) KPanelBlock {
  __m512i lv[64];
  KScales k;
};

template <class Quant>
struct GroupLevels {
  static constexpr size_t kBlock = kRowGroup * sizeof(typename Quant::B);
  const std::byte* group;
  KGroupBlock block(int64_t b) const {
    return KGroupBlock{group + static_cast<size_t>(b) * kBlock, static_cast<int>(sizeof(typename Quant::B) / 4)};
  }
  void scales(int64_t b, KScales& k) const { Quant::scales(block(b), k); }
  template <int i>
  __m512i level(int64_t b) const { return Quant::template level<i>(block(b)); }
  void prefetch(int64_t b) const { prefetch_ahead<kBlock>(group + static_cast<size_t>(b) * kBlock); }
};

struct PanelLevels {
  const KPanelBlock* panel;
  void scales(int64_t b, KScales& k) const { k = panel[b].k; }
  template <int i>
  __m512i level(int64_t b) const { return _mm512_load_si512(&panel[b].lv[i]); }
  void prefetch(int64_t) const {}
};

// The panel of a row group's super-blocks [0, nb).
template <class Quant>
void pack_levels(const std::byte* group, int64_t nb, KPanelBlock* out) {
  const GroupLevels<Quant> src{group};
  for (int64_t b = 0; b < nb; ++b) {
    const KGroupBlock g = src.block(b);
    static_for<64>([&]<int i>() { _mm512_store_si512(&out[b].lv[i], Quant::template level<i>(g)); });
    Quant::scales(g, out[b].k);
  }
}

// TN tokens against a row group (rows [r, r + n) of the output), its levels and scales from
// `levels` (GroupLevels or PanelLevels): S sub-blocks a super-block, each of 64 / S groups of 4 levels.
template <class Quant, int TN, class Levels>
void k_tokens(const MatmulArgs& a, const Levels& levels, int64_t r, int n, int t) {
  constexpr int S = Quant::kSubBlocks, V = 64 / S;
  const int64_t nb = a.k / kQ8KBlockElems;
  const BlockQ8K* x[TN];
  __m512 acc[TN][8];
  for (int j = 0; j < TN; ++j) {
    x[j] = reinterpret_cast<const BlockQ8K*>(a.x + static_cast<size_t>(t + j) * a.x_row_bytes);
    for (int l = 0; l < 8; ++l) acc[j][l] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (kPrefetchGroups<TN>) levels.prefetch(b);
    KScales ks;
    levels.scales(b, ks);
    const int l = static_cast<int>(b % 8);
    __m512i isum[TN];
    for (int j = 0; j < TN; ++j) isum[j] = _mm512_setzero_si512();
    // Tokens innermost: TN independent vpdpbusd chains, each level vector made once for all of them
    // (one chain per token, its 8 steps back to back, left the unit waiting on each step's latency).
    // The level index is a constant in each step, so the shifts and offsets that split it out are too.
    static_for<S>([&]<int s>() {
      __m512i dot[TN];
#pragma GCC unroll 16
      for (int j = 0; j < TN; ++j) dot[j] = _mm512_setzero_si512();
      static_for<V>([&]<int c>() {
        const __m512i lv = levels.template level<V * s + c>(b);
#pragma GCC unroll 16
        for (int j = 0; j < TN; ++j) dot[j] = _mm512_dpbusd_epi32(dot[j], lv, _mm512_set1_epi32(load_i32(x[j][b].qs + 4 * (V * s + c))));
      });
#pragma GCC unroll 16
      for (int j = 0; j < TN; ++j) isum[j] = _mm512_add_epi32(isum[j], _mm512_mullo_epi32(dot[j], ks.sc[s]));
    });
    __m512i osum[TN];
#pragma GCC unroll 16
    for (int j = 0; j < TN; ++j) osum[j] = _mm512_setzero_si512();
    for (int i = 0; i < 8; ++i) {
#pragma GCC unroll 16
      for (int j = 0; j < TN; ++j) osum[j] = _mm512_dpwssd_epi32(osum[j], ks.offs[i], _mm512_set1_epi32(load_i32(x[j][b].bsums + 2 * i)));
    }
#pragma GCC unroll 16
    for (int j = 0; j < TN; ++j) {
      const __m512 dx = _mm512_set1_ps(x[j][b].d);
      const __m512 off = _mm512_mul_ps(_mm512_cvtepi32_ps(osum[j]), _mm512_mul_ps(ks.o, dx));
      const __m512 v = _mm512_fmsub_ps(_mm512_cvtepi32_ps(isum[j]), _mm512_mul_ps(ks.d, dx), off);
      acc[j][l] = _mm512_add_ps(acc[j][l], v);
    }
  }
  const __mmask16 m = first_lanes(n);
  for (int j = 0; j < TN; ++j) _mm512_mask_storeu_ps(a.y + (t + j) * a.y_stride + r, m, tree8_lanes(acc[j]));
}

// From this many tokens on, a row group's levels are split once into a panel for all of them. On
// the 0.6B shape's Q4_K_M pp512 (tiles of 128 tokens), splitting them at every use was 15-20 %
// slower than the panel; a MoE expert's 16 or so tokens are faster without one.
constexpr int kPanelLevelTokens = 32;

// Tokens against one row group (in the weights or a thread's copy), its levels split per use or
// once into a panel.
template <class Quant>
void k_group_all_tokens(const MatmulArgs& a, const std::byte* group, int64_t r, int n) {
  if (a.n_tok < kPanelLevelTokens) {
    const GroupLevels<Quant> levels{group};
    for_token_tiles(a.n_tok, [&]<int TN>(int t) { k_tokens<Quant, TN>(a, levels, r, n, t); });
    return;
  }
  thread_local std::vector<KPanelBlock> panel;
  const int64_t nb = a.k / kQ8KBlockElems;
  panel.resize(static_cast<size_t>(nb));
  pack_levels<Quant>(group, nb, panel.data());
  const PanelLevels levels{panel.data()};
  for_token_tiles(a.n_tok, [&]<int TN>(int t) { k_tokens<Quant, TN>(a, levels, r, n, t); });
}

// Rows as the file lays them out: one token at a time by k_gemv below kPanelMinTokens, else each 16
// rows copied into a row group (rows_to_group) that all the tokens then read.
template <class Quant, void (*Unpack)(const typename Quant::B&, KBlock&)>
void matmul_k(const MatmulArgs& a) {
  if (tokens_one_by_one<k_gemv<typename Quant::B, Unpack>>(a)) return;
  const RowGroupBlock& l = *row_group_block(Quant::kType);
  thread_local std::vector<std::byte> group;
  group.resize(static_cast<size_t>(a.k / kQ8KBlockElems) * kRowGroup * sizeof(typename Quant::B));
  for (int64_t r = a.r0; r < a.r1; r += kLanes) {
    const int n = static_cast<int>(a.r1 - r < kLanes ? a.r1 - r : kLanes);
    prefetch_next_panel(a, r);
    rows_to_group(a, l, r, n, group.data());
    k_group_all_tokens<Quant>(a, group.data(), r, n);
  }
}

// Row groups: every token count reads the weights where they are.
template <class Quant>
void matmul_k_groups(const MatmulArgs& a) {
  for (int64_t r = a.r0; r < a.r1; r += kRowGroup) {
    if (a.n_tok >= kPanelMinTokens) prefetch_next_panel(a, r);
    k_group_all_tokens<Quant>(a, a.w + static_cast<size_t>(r) * a.w_row_bytes, r, kRowGroup);
  }
}

void unpack_q4_k_u(const BlockQ4_K& w, KBlock& u) { unpack_q45_k<4>(w, u); }
void unpack_q5_k_u(const BlockQ5_K& w, KBlock& u) { unpack_q45_k<5>(w, u); }
void unpack_q6_k_u(const BlockQ6_K& w, KBlock& u) { unpack_q6_k(w, u); }

using Q4K = K4Quant<BlockQ4_K, false>;
using Q5K = K4Quant<BlockQ5_K, true>;

}  // namespace

void matmul_q4_k_avx512_vnni(const MatmulArgs& a) { matmul_k<Q4K, unpack_q4_k_u>(a); }
void matmul_q5_k_avx512_vnni(const MatmulArgs& a) { matmul_k<Q5K, unpack_q5_k_u>(a); }
void matmul_q6_k_avx512_vnni(const MatmulArgs& a) { matmul_k<Q6Quant, unpack_q6_k_u>(a); }
void matmul_q4_k_groups_avx512_vnni(const MatmulArgs& a) { matmul_k_groups<Q4K>(a); }
void matmul_q5_k_groups_avx512_vnni(const MatmulArgs& a) { matmul_k_groups<Q5K>(a); }

}  // namespace qwenrt::kernels
