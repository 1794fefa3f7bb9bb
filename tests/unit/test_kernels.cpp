// Every SIMD kernel against its scalar twin, over awkward sizes (0 to past two vector widths,
// odd remainders, sub-ranges of rows, misaligned pointers). Tolerances come from the standard
// bound on reordered float summation: |error| <= 2 * n * eps * sum |terms|.
#include "kernels/kernels.h"
#include "kernels/row_groups.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <cstring>
#include <random>
#include <vector>

namespace qwenrt::kernels {
namespace {

std::vector<Isa> available_simd() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni}) {
    if (kernel_table_for(isa)) out.push_back(isa);
  }
  return out;
}

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Weights of `rows` x `k` in dtype t, stored at a deliberately odd (but element-aligned) offset.
struct Weights {
  std::vector<std::byte> storage;
  size_t offset = 0;
  size_t row_bytes = 0;
  std::vector<float> values;  // the exact values the bytes encode
  const std::byte* data() const { return storage.data() + offset; }
};

// Random bytes are valid blocks of the K-quants once their half-float scales are finite.
void random_blocks(DType t, std::byte* dst, int64_t n, std::mt19937& rng) {
  const DTypeInfo& info = dtype_info(t);
  const int64_t blocks = n / info.block_elems;
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.001f, 0.03f);
  for (int64_t b = 0; b < blocks; ++b) {
    std::byte* blk = dst + b * info.block_bytes;
    for (int i = 0; i < info.block_bytes; ++i) blk[i] = static_cast<std::byte>(byte(rng));
    const std::vector<int> half_offsets = t == DType::Q6_K ? std::vector<int>{208} : std::vector<int>{0, 2};
    for (int off : half_offsets) {
      const uint16_t h = fp32_to_fp16(scale(rng));
      std::memcpy(blk + off, &h, 2);
    }
  }
}

Weights make_weights(DType t, int64_t rows, int64_t k, uint32_t seed) {
  Weights w;
  w.row_bytes = row_bytes(t, k);
  w.offset = t == DType::F32 ? 4 : 2;
  w.storage.resize(w.offset + w.row_bytes * static_cast<size_t>(rows) + 64);
  const auto src = random_floats(static_cast<size_t>(rows * k), seed);
  w.values.resize(src.size());
  std::mt19937 rng(seed);
  for (int64_t r = 0; r < rows; ++r) {
    std::byte* dst = w.storage.data() + w.offset + static_cast<size_t>(r) * w.row_bytes;
    // Float types and the 32-blocks from real values; the K-quants from random bytes (every scale,
    // min and level pattern, the extremes included).
    const bool k_quant = t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
    if (has_quantizer(t) && !k_quant) {
      quantize_row(t, src.data() + r * k, dst, k);
    } else {
      random_blocks(t, dst, k, rng);
    }
    dequantize_row(t, dst, w.values.data() + r * k, k);
  }
  return w;
}

// Activations in the format the kernel wants, at a misaligned address.
struct Acts {
  std::vector<std::byte> storage;
  size_t row_bytes = 0;
  const std::byte* data() const { return storage.data() + 4; }
};

Acts make_acts(const KernelTable& kt, ActFormat f, const std::vector<float>& x, int n_tok, int64_t k) {
  Acts a;
  a.row_bytes = act_row_bytes(f, k);
  a.storage.resize(4 + a.row_bytes * static_cast<size_t>(n_tok));
  for (int t = 0; t < n_tok; ++t) {
    quantize_act_row(kt, f, x.data() + t * k, a.storage.data() + 4 + static_cast<size_t>(t) * a.row_bytes, k);
  }
  return a;
}

std::vector<float> run_matmul(const KernelTable& kt, DType t, const Weights& w, const Acts& a, int64_t k, int n_tok,
                              int64_t rows, int64_t r0, int64_t r1) {
  std::vector<float> y(static_cast<size_t>(n_tok * rows), -12345.0f);
  MatmulArgs args{w.data(), w.row_bytes, k, a.data(), a.row_bytes, n_tok, y.data(), rows, r0, r1};
  kt.matmul[static_cast<int>(t)].fn(args);
  return y;
}

void check_matmul(DType t, int64_t k, int n_tok, int64_t rows, int64_t r0, int64_t r1) {
  const KernelTable& ref = scalar_kernels();
  const Weights w = make_weights(t, rows, k, static_cast<uint32_t>(k * 131 + rows));
  const auto x = random_floats(static_cast<size_t>(n_tok * k), static_cast<uint32_t>(n_tok * 7 + k));
  const ActFormat f = ref.matmul[static_cast<int>(t)].act;
  const Acts a = make_acts(ref, f, x, n_tok, k);
  const auto expect = run_matmul(ref, t, w, a, k, n_tok, rows, r0, r1);
  // The scalar oracle itself against double-precision sums of the exact operands.
  std::vector<float> xq(x);
  if (f == ActFormat::Q8) {
    for (int tt = 0; tt < n_tok; ++tt) {
      const auto* blocks = reinterpret_cast<const BlockQ8Act*>(a.data() + static_cast<size_t>(tt) * a.row_bytes);
      for (int64_t c = 0; c < k; ++c) xq[tt * k + c] = blocks[c / 32].d * blocks[c / 32].qs[c % 32];
    }
  } else if (f == ActFormat::Q8K) {
    for (int tt = 0; tt < n_tok; ++tt) {
      const auto* blocks = reinterpret_cast<const BlockQ8K*>(a.data() + static_cast<size_t>(tt) * a.row_bytes);
      for (int64_t c = 0; c < k; ++c) xq[tt * k + c] = blocks[c / 256].d * blocks[c / 256].qs[c % 256];
    }
  }
  for (int tt = 0; tt < n_tok; ++tt) {
    for (int64_t r = 0; r < rows; ++r) {
      const float got_ref = expect[tt * rows + r];
      if (r < r0 || r >= r1) {
        ASSERT_EQ(got_ref, -12345.0f) << "wrote outside [r0, r1)";
        continue;
      }
      double sum = 0, mag = 0;
      for (int64_t c = 0; c < k; ++c) {
        sum += static_cast<double>(w.values[r * k + c]) * xq[tt * k + c];
        mag += std::fabs(static_cast<double>(w.values[r * k + c]) * xq[tt * k + c]);
      }
      ASSERT_NEAR(got_ref, sum, 2 * k * FLT_EPSILON * mag + 1e-30) << dtype_name(t) << " k=" << k;
    }
  }
  for (Isa isa : available_simd()) {
    const KernelTable& kt = *kernel_table_for(isa);
    const ActFormat fk = kt.matmul[static_cast<int>(t)].act;
    // Q8Sum is Q8's blocks (bit-identical quantizers, tested below) plus their sums.
    ASSERT_TRUE(fk == f || (f == ActFormat::Q8 && fk == ActFormat::Q8Sum)) << isa_name(isa);
    const auto got = run_matmul(kt, t, w, fk == f ? a : make_acts(kt, fk, x, n_tok, k), k, n_tok, rows, r0, r1);
    for (int tt = 0; tt < n_tok; ++tt) {
      for (int64_t r = 0; r < rows; ++r) {
        const size_t i = static_cast<size_t>(tt * rows + r);
        if (r < r0 || r >= r1) {
          ASSERT_EQ(got[i], -12345.0f) << isa_name(isa) << " wrote outside [r0, r1)";
          continue;
        }
        double mag = 0;
        for (int64_t c = 0; c < k; ++c) mag += std::fabs(static_cast<double>(w.values[r * k + c]) * xq[tt * k + c]);
        ASSERT_NEAR(got[i], expect[i], 4 * k * FLT_EPSILON * mag + 1e-30)
            << isa_name(isa) << " " << dtype_name(t) << " k=" << k << " n_tok=" << n_tok << " row=" << r;
      }
    }
  }
}

// Batch invariance: a token's outputs are bit-identical whether it is multiplied alone (decode) or
// as any row of a batch, so that continuous batching never changes a sequence's (greedy) output.
TEST(Kernels, ATokensResultDoesNotDependOnItsBatch) {
  for (Isa isa : available_simd()) {
    const KernelTable& kt = *kernel_table_for(isa);
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
      for (int64_t k : {64, 96, 256, 768, 1000, 1024, 3072}) {
        if (k % dtype_info(t).block_elems != 0) continue;
        const int64_t rows = 37;
        const int n_tok = 7;
        const Weights w = make_weights(t, rows, k, static_cast<uint32_t>(k + 5));
        const auto x = random_floats(static_cast<size_t>(n_tok * k), static_cast<uint32_t>(k * 3));
        const ActFormat f = kt.matmul[static_cast<int>(t)].act;
        const Acts batch = make_acts(kt, f, x, n_tok, k);
        const auto together = run_matmul(kt, t, w, batch, k, n_tok, rows, 0, rows);
        for (int tt = 0; tt < n_tok; ++tt) {
          const std::vector<float> one(x.begin() + tt * k, x.begin() + (tt + 1) * k);
          const auto alone = run_matmul(kt, t, w, make_acts(kt, f, one, 1, k), k, 1, rows, 0, rows);
          for (int64_t r = 0; r < rows; ++r) {
            ASSERT_EQ(alone[static_cast<size_t>(r)], together[static_cast<size_t>(tt * rows + r)])
                << isa_name(isa) << " " << dtype_name(t) << " k=" << k << " token " << tt << " row " << r;
          }
        }
      }
    }
  }
}

// Row groups: the layout as row_groups.h describes it (checked against the bytes of the rows, word
// by word), the way back gives the rows again, and every level's row-group kernel gives the bits of
// its kernel on the rows, for every token count, over a sub-range of the groups.
TEST(Kernels, RowGroupLayoutRoundTrips) {
  for (DType t : {DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    const RowGroupBlock* l = row_group_block(t);
    ASSERT_NE(l, nullptr);
    const int64_t rows = 32, k = 512;
    const Weights w = make_weights(t, rows, k, 99);
    std::vector<std::byte> grouped(w.data(), w.data() + w.row_bytes * rows);
    std::vector<std::byte> scratch(w.row_bytes * kRowGroup);
    to_row_groups(t, grouped.data(), rows, k, scratch.data());
    const int64_t nb = k / l->block_elems;
    for (int64_t r = 0; r < rows; ++r) {
      const std::byte* group = grouped.data() + static_cast<size_t>(r / kRowGroup * kRowGroup) * w.row_bytes;
      const int lane = static_cast<int>(r % kRowGroup);
      for (int64_t b = 0; b < nb; ++b) {
        const std::byte* blk = w.data() + static_cast<size_t>(r) * w.row_bytes + static_cast<size_t>(b * l->block_bytes);
        const std::byte* gb = group + static_cast<size_t>(b * l->block_bytes * kRowGroup);
        for (int i = 0; i < l->n_words; ++i) {
          ASSERT_EQ(std::memcmp(gb + (i * kRowGroup + lane) * 4, blk + l->word_offset + 4 * i, 4), 0) << dtype_name(t);
        }
        if (l->half_offset >= 0) {
          ASSERT_EQ(std::memcmp(gb + l->n_words * 64 + lane * 2, blk + l->half_offset, 2), 0) << dtype_name(t);
        }
      }
    }
    from_row_groups(t, grouped.data(), rows, k, scratch.data());
    EXPECT_EQ(std::memcmp(grouped.data(), w.data(), grouped.size()), 0) << dtype_name(t);
  }
  EXPECT_EQ(row_group_block(DType::F16), nullptr);
  EXPECT_EQ(row_group_block(DType::Q4_0), nullptr);
}

TEST(Kernels, RowGroupKernelsGiveTheBitsOfTheRowKernels) {
  int checked = 0;
  for (Isa isa : available_simd()) {
    const KernelTable& kt = *kernel_table_for(isa);
    for (DType t : {DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
      const MatmulKernel& kernel = kt.matmul[static_cast<int>(t)];
      if (!kernel.groups) continue;
      for (int64_t k : {256, 768, 1024, 2304}) {
        const int64_t rows = 64;
        const Weights w = make_weights(t, rows, k, static_cast<uint32_t>(k + 11));
        std::vector<std::byte> grouped(w.data(), w.data() + w.row_bytes * rows);
        std::vector<std::byte> scratch(w.row_bytes * kRowGroup);
        to_row_groups(t, grouped.data(), rows, k, scratch.data());
        for (int n_tok : {1, 2, 3, 4, 5, 8, 11, 17}) {
          const auto x = random_floats(static_cast<size_t>(n_tok * k), static_cast<uint32_t>(n_tok + k));
          const Acts a = make_acts(kt, kernel.act, x, n_tok, k);
          for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, rows}, {16, 48}}) {
            const auto expect = run_matmul(kt, t, w, a, k, n_tok, rows, r0, r1);
            std::vector<float> got(expect.size(), -12345.0f);
            MatmulArgs args{grouped.data(), w.row_bytes, k, a.data(), a.row_bytes, n_tok, got.data(), rows, r0, r1};
            kernel.groups(args);
            for (size_t i = 0; i < got.size(); ++i) {
              ASSERT_EQ(got[i], expect[i]) << isa_name(isa) << " " << dtype_name(t) << " k=" << k << " n_tok=" << n_tok
                                           << " rows [" << r0 << ", " << r1 << ") output " << i;
            }
            ++checked;
          }
        }
      }
    }
  }
  if (checked == 0) GTEST_SKIP() << "no kernel level of this CPU reads row groups";
}

TEST(Kernels, FloatMatmulsMatchScalarOverAwkwardSizes) {
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    for (int64_t k : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 65, 100, 129}) {
      for (int n_tok : {1, 2, 3, 4, 5, 9}) check_matmul(t, k, n_tok, 7, 0, 7);
    }
    check_matmul(t, 256, 17, 37, 0, 37);
    check_matmul(t, 40, 6, 40, 5, 23);  // a sub-range of rows
  }
}

TEST(Kernels, Q8MatmulMatchesScalar) {
  for (int64_t k : {32, 64, 96, 160, 1024}) {
    for (int n_tok : {1, 2, 3, 4, 5, 9}) check_matmul(DType::Q8_0, k, n_tok, 9, 0, 9);
  }
  check_matmul(DType::Q8_0, 256, 13, 35, 3, 34);
  // Panels of 16 rows (VNNI): full and partial panels, 8-token groups and their remainders.
  check_matmul(DType::Q8_0, 1024, 17, 40, 0, 40);
  check_matmul(DType::Q8_0, 96, 12, 50, 7, 45);
}

// The byte extremes (-128 is a valid Q8_0 weight though the quantizer never writes it, +-127
// activations) where an unsigned x signed product or a 16-bit pair sum could overflow: every ISA
// gives the exact integer result (representable in float, so no rounding either).
TEST(Kernels, Q8MatmulIsExactAtTheByteExtremes) {
  const int64_t k = 256, rows = 20;
  const int n_tok = 5;
  std::vector<std::byte> w(row_bytes(DType::Q8_0, k) * rows);
  const uint16_t one = fp32_to_fp16(1.0f);
  std::vector<float> x(static_cast<size_t>(n_tok * k));
  for (int t = 0; t < n_tok; ++t) {
    for (int64_t c = 0; c < k; ++c) x[static_cast<size_t>(t * k + c)] = ((c + t) % 3 == 0) ? -1.0f : 1.0f;
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < k / 32; ++b) {
      std::byte* blk = w.data() + static_cast<size_t>(r) * row_bytes(DType::Q8_0, k) + b * 34;
      std::memcpy(blk, &one, 2);
      for (int j = 0; j < 32; ++j) blk[2 + j] = static_cast<std::byte>((j + r) % 5 == 0 ? 127 : 0x80);  // 127 or -128
    }
  }
  Weights wt;
  wt.storage = w;
  wt.row_bytes = row_bytes(DType::Q8_0, k);
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni}) {
    const KernelTable* kt = kernel_table_for(isa);
    if (!kt) continue;
    const ActFormat f = kt->matmul[static_cast<int>(DType::Q8_0)].act;
    const auto y = run_matmul(*kt, DType::Q8_0, wt, make_acts(*kt, f, x, n_tok, k), k, n_tok, rows, 0, rows);
    for (int t = 0; t < n_tok; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        double expect = 0;  // activations quantize to exactly +-127 with d = 1/127
        for (int64_t c = 0; c < k; ++c) {
          const double wq = (c % 32 + r) % 5 == 0 ? 127 : -128;
          expect += wq * (x[static_cast<size_t>(t * k + c)] > 0 ? 127 : -127);
        }
        const float d = 1.0f / 127.0f;
        EXPECT_NEAR(y[static_cast<size_t>(t * rows + r)], expect * d, std::fabs(expect * d) * 1e-6) << isa_name(isa) << " row " << r;
      }
    }
  }
}

TEST(Kernels, Q4AndKQuantMatmulsMatchScalar) {
  for (DType t : {DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    const int64_t b = dtype_info(t).block_elems;
    for (int64_t k : {b, 2 * b, 3 * b, 8 * b}) {
      for (int n_tok : {1, 2, 5, 9}) check_matmul(t, k, n_tok, 9, 0, 9);
    }
    check_matmul(t, 4 * b, 70, 13, 2, 11);  // more tokens than one block of 64, a sub-range of rows
    check_matmul(t, 2 * b, 12, 40, 3, 37);  // VNNI panels of 16 rows: two whole and a partial one
    // Decode pairs the rows whose last group of 8 super-blocks has 1 to 4 (k = 768, 1024, 3072): an
    // odd row range starting on an odd row leaves one row alone.
    for (int64_t k : {b, 2 * b, 3 * b, 4 * b, 11 * b, 12 * b, 13 * b, 20 * b}) check_matmul(t, k, 1, 9, 1, 8), check_matmul(t, k, 1, 8, 0, 8);
  }
}

TEST(Kernels, Q8ActivationQuantizationIsBitIdentical) {
  const auto x = random_floats(32 * 9, 11, 3.0f);
  std::vector<float> with_zero(x);
  std::fill(with_zero.begin() + 64, with_zero.begin() + 96, 0.0f);
  std::vector<BlockQ8Act> expect(9);
  scalar_kernels().quantize_q8_act(with_zero.data(), expect.data(), 32 * 9);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(expect[2].qs[j], 0);
  for (Isa isa : available_simd()) {
    std::vector<BlockQ8Act> got(9);
    kernel_table_for(isa)->quantize_q8_act(with_zero.data(), got.data(), 32 * 9);
    EXPECT_EQ(std::memcmp(got.data(), expect.data(), sizeof(BlockQ8Act) * 9), 0) << isa_name(isa);
  }
  // Each value is within half a step of its quantized value.
  for (int b = 0; b < 9; ++b) {
    for (int j = 0; j < 32; ++j) {
      EXPECT_LE(std::fabs(expect[b].d * expect[b].qs[j] - with_zero[b * 32 + j]), expect[b].d * 0.5f + 1e-6f);
    }
  }
}

// Q8K: one scale per 256, the sums of each 16 exact, and every ISA's blocks bit-identical.
TEST(Kernels, Q8KActivationQuantizationIsBitIdenticalWithExactSums) {
  std::vector<float> x = random_floats(256 * 3, 13, 5.0f);
  std::fill(x.begin() + 256, x.begin() + 512, 0.0f);
  std::vector<BlockQ8K> expect(3);
  scalar_kernels().quantize_q8k_act(x.data(), expect.data(), 256 * 3);
  for (int b = 0; b < 3; ++b) {
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += expect[b].qs[16 * g + j];
      EXPECT_EQ(expect[b].bsums[g], sum);
    }
    for (int j = 0; j < 256; ++j) {
      EXPECT_LE(std::fabs(expect[b].d * expect[b].qs[j] - x[b * 256 + j]), expect[b].d * 0.5f + 1e-6f);
    }
  }
  EXPECT_EQ(expect[1].d, 0.0f);
  for (Isa isa : available_simd()) {
    std::vector<BlockQ8K> got(3);
    kernel_table_for(isa)->quantize_q8k_act(x.data(), got.data(), 256 * 3);
    EXPECT_EQ(std::memcmp(got.data(), expect.data(), sizeof(BlockQ8K) * 3), 0) << isa_name(isa);
  }
}

TEST(Kernels, VectorHelpersMatchScalar) {
  for (int64_t n : {0, 1, 5, 8, 15, 16, 17, 31, 32, 33, 100}) {
    const auto a = random_floats(static_cast<size_t>(n) + 1, 1);
    const auto b = random_floats(static_cast<size_t>(n) + 1, 2);
    const float* ap = a.data() + 1;  // misaligned
    double mag = 0;
    for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(ap[i]) * b[i]);
    const float expect_dot = scalar_kernels().dot_f32(ap, b.data(), n);
    for (Isa isa : available_simd()) {
      const KernelTable& kt = *kernel_table_for(isa);
      EXPECT_NEAR(kt.dot_f32(ap, b.data(), n), expect_dot, 4 * n * FLT_EPSILON * mag + 1e-30) << isa_name(isa);
      std::vector<float> y1(b), y2(b);
      scalar_kernels().axpy_f32(0.75f, ap, y1.data(), n);
      kt.axpy_f32(0.75f, ap, y2.data(), n);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y1[static_cast<size_t>(i)], y2[static_cast<size_t>(i)], 4 * FLT_EPSILON);
      EXPECT_EQ(y1[static_cast<size_t>(n)], y2[static_cast<size_t>(n)]);  // untouched past n
      const std::vector<float> before(y2);
      kt.scale_f32(y2.data(), 2.0f, n);
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y2[static_cast<size_t>(i)], 2.0f * before[static_cast<size_t>(i)]);
    }
  }
}

// The softmax pieces: exp within 2 ulp of the double-precision value (and 0, not a denormal's
// garbage, far below), sums in any order within rounding, max and scaling exact; untouched past n.
TEST(Kernels, SoftmaxPiecesMatchTheDefinition) {
  std::vector<const KernelTable*> tables = {&scalar_kernels()};
  for (Isa isa : available_simd()) tables.push_back(kernel_table_for(isa));
  for (const KernelTable* kt : tables) {
    for (int64_t n : {0, 1, 7, 8, 9, 16, 17, 32, 33, 100}) {
      auto x = random_floats(static_cast<size_t>(n) + 1, 7);
      for (auto& v : x) v *= 400.0f;  // once the max is taken off, exponents down to about -200
      const float sentinel = x[static_cast<size_t>(n)];
      std::vector<float> scaled(x);
      const float m = kt->scale_max_f32(scaled.data(), 0.25f, n);
      float expect_max = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_EQ(scaled[static_cast<size_t>(i)], x[static_cast<size_t>(i)] * 0.25f);
        expect_max = std::max(expect_max, scaled[static_cast<size_t>(i)]);
      }
      EXPECT_EQ(m, expect_max) << isa_name(kt->isa);
      EXPECT_EQ(scaled[static_cast<size_t>(n)], sentinel);
      const float shift = n > 0 ? m : 0.0f;  // as the attention does: some land below -87 (denormals, 0)
      std::vector<float> e(scaled);
      const float sum = kt->exp_sum_f32(e.data(), shift, n);
      double expect_sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float arg = scaled[static_cast<size_t>(i)] - shift;  // rounded to float, as the kernels do
        const double want = std::exp(static_cast<double>(arg));
        const double got = e[static_cast<size_t>(i)];
        if (want < 1e-37) {
          EXPECT_LE(got, 2e-37) << isa_name(kt->isa);
        } else {
          EXPECT_NEAR(got, want, 2.5 * FLT_EPSILON * want) << isa_name(kt->isa) << " x = " << arg;
        }
        expect_sum += got;
      }
      EXPECT_NEAR(sum, expect_sum, 1e-6 * expect_sum + 1e-38) << isa_name(kt->isa);
      EXPECT_EQ(e[static_cast<size_t>(n)], scaled[static_cast<size_t>(n)]);
    }
  }
}

// silu(gate) * up against the double-precision definition, from deep negatives (where silu is a
// tiny negative number) to large positives; untouched past n.
TEST(Kernels, SiluMulMatchesTheDefinition) {
  std::vector<const KernelTable*> tables = {&scalar_kernels()};
  for (Isa isa : available_simd()) tables.push_back(kernel_table_for(isa));
  for (const KernelTable* kt : tables) {
    for (int64_t n : {0, 1, 7, 8, 9, 16, 17, 100}) {
      auto gate = random_floats(static_cast<size_t>(n) + 1, 11);
      const auto up = random_floats(static_cast<size_t>(n) + 1, 12);
      for (auto& g : gate) g *= 120.0f;
      std::vector<float> got(gate);
      kt->silu_mul_f32(got.data(), up.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double g = gate[static_cast<size_t>(i)];
        const double want = g / (1.0 + std::exp(-g)) * up[static_cast<size_t>(i)];
        // Where exp(-gate) overflows, a kernel may clamp it: silu is then below 1e-36 either way.
        EXPECT_NEAR(got[static_cast<size_t>(i)], want, 4 * FLT_EPSILON * std::fabs(want) + 1e-35) << isa_name(kt->isa) << " gate " << g;
      }
      EXPECT_EQ(got[static_cast<size_t>(n)], gate[static_cast<size_t>(n)]);
    }
  }
}

// RMSNorm's sum of squares: bit-identical on every ISA (one lane tree), and within a few double
// roundings of the exact sum (long double, sequential); tails of every length past 16.
TEST(Kernels, SumSquaresIsOneValueOnEveryIsa) {
  for (int64_t n : {0, 1, 5, 15, 16, 17, 31, 100, 128, 1000, 1024, 3001}) {
    auto x = random_floats(static_cast<size_t>(n), static_cast<uint32_t>(n + 5));
    for (size_t i = 0; i < x.size(); i += 7) x[i] *= 1e4f;  // magnitudes that differ
    long double exact = 0.0L;
    for (float v : x) exact += static_cast<long double>(v) * v;
    const double want = scalar_kernels().sum_squares_f64(x.data(), n);
    EXPECT_NEAR(want, static_cast<double>(exact), 1e-14 * static_cast<double>(exact)) << n;
    for (Isa isa : available_simd()) EXPECT_EQ(kernel_table_for(isa)->sum_squares_f64(x.data(), n), want) << isa_name(isa) << " n " << n;
  }
}

// Attention tiles against double-precision sums, every ISA; and a query's scores and sums are
// bit-identical whether it comes alone or in a tile, and whatever number of keys follows it.
TEST(Kernels, AttentionTilesMatchScalarAndDoNotDependOnTheTile) {
  std::vector<Isa> isas = available_simd();
  isas.insert(isas.begin(), Isa::Scalar);
  for (int64_t dim : {1, 7, 16, 64, 100, 128, 129}) {
    for (int n : {1, 3, 4, 5, 17, 32}) {
      const int nq = kAttnTile;
      const int64_t q_stride = dim + 3;
      const auto q = random_floats(static_cast<size_t>(nq * q_stride), static_cast<uint32_t>(dim * 7 + n));
      const auto keys = random_floats(static_cast<size_t>(n * dim), static_cast<uint32_t>(dim + n));
      const auto vals = random_floats(static_cast<size_t>(n * dim), static_cast<uint32_t>(dim * 3 + n));
      const auto p = random_floats(static_cast<size_t>(nq * n), static_cast<uint32_t>(n * 11));
      const auto out0 = random_floats(static_cast<size_t>(nq * q_stride), static_cast<uint32_t>(dim * 5));
      for (Isa isa : isas) {
        const KernelTable& kt = *kernel_table_for(isa);
        std::vector<float> scores(static_cast<size_t>(nq * n));
        kt.attn_scores(q.data(), q_stride, nq, keys.data(), n, dim, scores.data());
        std::vector<float> out(out0);
        kt.attn_accumulate(p.data(), nq, n, vals.data(), dim, out.data(), q_stride);
        for (int i = 0; i < nq; ++i) {
          for (int j = 0; j < n; ++j) {
            double dot = 0, mag = 0;
            for (int64_t d = 0; d < dim; ++d) {
              dot += static_cast<double>(q[static_cast<size_t>(i * q_stride + d)]) * keys[static_cast<size_t>(j * dim + d)];
              mag += std::fabs(static_cast<double>(q[static_cast<size_t>(i * q_stride + d)]) * keys[static_cast<size_t>(j * dim + d)]);
            }
            ASSERT_NEAR(scores[static_cast<size_t>(i * n + j)], dot, 2 * dim * FLT_EPSILON * mag + 1e-30) << isa_name(isa) << " dim " << dim;
          }
          for (int64_t d = 0; d < dim; ++d) {
            double sum = out0[static_cast<size_t>(i * q_stride + d)], mag = std::fabs(sum);
            for (int j = 0; j < n; ++j) {
              sum += static_cast<double>(p[static_cast<size_t>(i * n + j)]) * vals[static_cast<size_t>(j * dim + d)];
              mag += std::fabs(static_cast<double>(p[static_cast<size_t>(i * n + j)]) * vals[static_cast<size_t>(j * dim + d)]);
            }
            ASSERT_NEAR(out[static_cast<size_t>(i * q_stride + d)], sum, 2 * n * FLT_EPSILON * mag + 1e-30) << isa_name(isa);
          }
          for (int64_t d = dim; d < q_stride; ++d) ASSERT_EQ(out[static_cast<size_t>(i * q_stride + d)], out0[static_cast<size_t>(i * q_stride + d)]);
        }
        // Query i alone, over the first n_alone keys (its own causal prefix): the same bits.
        for (int i = 0; i < nq; ++i) {
          const int n_alone = 1 + (n - 1) * i / nq;
          std::vector<float> alone(static_cast<size_t>(n_alone));
          kt.attn_scores(q.data() + i * q_stride, q_stride, 1, keys.data(), n_alone, dim, alone.data());
          for (int j = 0; j < n_alone; ++j) ASSERT_EQ(alone[static_cast<size_t>(j)], scores[static_cast<size_t>(i * n + j)]) << isa_name(isa);
          // Its sums with the keys past n_alone given p = 0 (as the masked ones are) equal the sums over n_alone.
          std::vector<float> p_masked(p.begin() + i * n, p.begin() + (i + 1) * n);
          std::fill(p_masked.begin() + n_alone, p_masked.end(), 0.0f);
          std::vector<float> one(out0.begin() + i * q_stride, out0.begin() + (i + 1) * q_stride), masked(one);
          kt.attn_accumulate(p_masked.data(), 1, n_alone, vals.data(), dim, one.data(), q_stride);
          kt.attn_accumulate(p_masked.data(), 1, n, vals.data(), dim, masked.data(), q_stride);
          std::vector<float> tile(out0);
          std::vector<float> p_tile(p);
          std::copy(p_masked.begin(), p_masked.end(), p_tile.begin() + i * n);
          kt.attn_accumulate(p_tile.data(), nq, n, vals.data(), dim, tile.data(), q_stride);
          for (int64_t d = 0; d < dim; ++d) {
            ASSERT_EQ(one[static_cast<size_t>(d)], masked[static_cast<size_t>(d)]) << isa_name(isa);
            ASSERT_EQ(one[static_cast<size_t>(d)], tile[static_cast<size_t>(i * q_stride + d)]) << isa_name(isa);
          }
        }
      }
    }
  }
}

// An f16 KV cache: the f16 attention kernels compute exactly what the f32 ones compute on the
// keys and values widened to f32 (the widening is exact), every ISA; and the rounding to f16 is the
// reference's (round to nearest even, subnormals, infinities, NaN) bit for bit.
TEST(Kernels, F16AttentionEqualsF32OnTheWidenedValues) {
  std::vector<Isa> isas = available_simd();
  isas.insert(isas.begin(), Isa::Scalar);
  for (int64_t dim : {1, 7, 16, 64, 100, 128, 129}) {
    for (int n : {1, 3, 5, 17, 32}) {
      const int nq = 5;
      const int64_t q_stride = dim + 3;
      const auto q = random_floats(static_cast<size_t>(nq * q_stride), static_cast<uint32_t>(dim * 7 + n));
      const auto k32 = random_floats(static_cast<size_t>(n * dim), static_cast<uint32_t>(dim + n));
      const auto v32 = random_floats(static_cast<size_t>(n * dim), static_cast<uint32_t>(dim * 3 + n));
      const auto p = random_floats(static_cast<size_t>(nq * n), static_cast<uint32_t>(n * 11));
      std::vector<uint16_t> k16(k32.size()), v16(v32.size());
      std::vector<float> kw(k32.size()), vw(v32.size());
      for (size_t i = 0; i < k32.size(); ++i) {
        k16[i] = fp32_to_fp16(k32[i]);
        v16[i] = fp32_to_fp16(v32[i]);
        kw[i] = fp16_to_fp32(k16[i]);
        vw[i] = fp16_to_fp32(v16[i]);
      }
      for (Isa isa : isas) {
        const KernelTable& kt = *kernel_table_for(isa);
        std::vector<float> s16(static_cast<size_t>(nq * n)), s32(s16.size());
        kt.attn_scores_f16(q.data(), q_stride, nq, k16.data(), n, dim, s16.data());
        kt.attn_scores(q.data(), q_stride, nq, kw.data(), n, dim, s32.data());
        ASSERT_EQ(s16, s32) << isa_name(isa) << " dim " << dim << " n " << n;
        std::vector<float> o16(q), o32(q);
        kt.attn_accumulate_f16(p.data(), nq, n, v16.data(), dim, o16.data(), q_stride);
        kt.attn_accumulate(p.data(), nq, n, vw.data(), dim, o32.data(), q_stride);
        ASSERT_EQ(o16, o32) << isa_name(isa) << " dim " << dim << " n " << n;
      }
    }
  }
  std::vector<float> x = random_floats(1000, 3);
  for (auto& v : x) v *= 70000.0f;  // past f16's largest finite value (65504): infinities
  for (float special : {0.0f, -0.0f, 1e-6f, -3e-7f, 6.1e-5f, 65504.0f, 65520.0f, 1e-9f, INFINITY, -INFINITY, NAN}) x.push_back(special);
  for (int i = 0; i < 200; ++i) x.push_back(static_cast<float>(i) * 1e-7f);  // subnormal f16s
  for (Isa isa : isas) {
    std::vector<uint16_t> got(x.size() + 1, 0xABCD);
    kernel_table_for(isa)->f32_to_f16(x.data(), got.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i])) {
        EXPECT_TRUE((got[i] & 0x7c00u) == 0x7c00u && (got[i] & 0x3ffu) != 0) << isa_name(isa);
      } else {
        ASSERT_EQ(got[i], fp32_to_fp16(x[i])) << isa_name(isa) << " x = " << x[i];
      }
    }
    EXPECT_EQ(got[x.size()], 0xABCD) << "untouched past n";
  }
}

TEST(Kernels, DispatchPicksASupportedTable) {
  const KernelTable& t = kernel_table();
  EXPECT_NE(kernel_table_for(t.isa), nullptr);
  EXPECT_NE(kernel_table_for(Isa::Scalar), nullptr);
  for (int d = 0; d < kNumDTypes; ++d) EXPECT_NE(t.matmul[d].fn, nullptr);
}

}  // namespace
}  // namespace qwenrt::kernels
