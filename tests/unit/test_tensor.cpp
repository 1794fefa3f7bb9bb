// Element conversions and block layouts, checked against values computed independently
// (exact rational arithmetic in double), not against the code under test.
#include "tensor/dtype.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"
#include "tensor/tensor_view.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace qwenrt {
namespace {

// The value of a half-precision bit pattern, from the IEEE 754 definition.
double half_value(uint16_t h) {
  const int sign = h >> 15 ? -1 : 1;
  const int exp = (h >> 10) & 31;
  const int mant = h & 1023;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  if (exp == 31) return mant ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  return sign * std::ldexp(1024 + mant, exp - 25);
}

TEST(Fp16, EveryHalfConvertsToItsExactValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const double expect = half_value(static_cast<uint16_t>(h));
    const float got = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(expect)) {
      EXPECT_TRUE(std::isnan(got)) << h;
    } else {
      ASSERT_EQ(static_cast<double>(got), expect) << h;
    }
  }
}

TEST(Fp16, FloatToHalfRoundsToNearestEven) {
  // Every half round-trips; every midpoint between neighbours rounds to the even one.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    ASSERT_EQ(fp32_to_fp16(f), h);
    ASSERT_EQ(fp32_to_fp16(-f), h | 0x8000u);
    if (h + 1 < 0x7c00) {
      const double mid = (half_value(static_cast<uint16_t>(h)) + half_value(static_cast<uint16_t>(h + 1))) / 2;
      const float midf = static_cast<float>(mid);
      ASSERT_EQ(static_cast<double>(midf), mid);  // midpoints are exact in float
      ASSERT_EQ(fp32_to_fp16(midf), (h % 2 == 0) ? h : h + 1) << h;
      ASSERT_EQ(fp32_to_fp16(std::nextafter(midf, 0.0f)), h) << h;
      ASSERT_EQ(fp32_to_fp16(std::nextafter(midf, INFINITY)), h + 1) << h;
    }
  }
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // rounds up to infinity
  EXPECT_EQ(fp32_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(INFINITY), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(1e-10f), 0);
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(NAN))));
}

TEST(Bf16, RoundsToNearestEvenAndKeepsNaN) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  uint32_t bits = 0x3f808000;  // exactly halfway between 0x3f80 and 0x3f81: even wins
  float f;
  std::memcpy(&f, &bits, 4);
  EXPECT_EQ(fp32_to_bf16(f), 0x3f80);
  bits = 0x3f818000;  // halfway between 0x3f81 and 0x3f82
  std::memcpy(&f, &bits, 4);
  EXPECT_EQ(fp32_to_bf16(f), 0x3f82);
  bits = 0x3f808001;
  std::memcpy(&f, &bits, 4);
  EXPECT_EQ(fp32_to_bf16(f), 0x3f81);
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(NAN))));
  EXPECT_EQ(bf16_to_fp32(0xc040), -3.0f);
}

TEST(Q8_0, MatchesTheBlockDefinition) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> x(96);
  for (auto& v : x) v = dist(rng);
  x[5] = 0.0f;
  std::vector<float> zeros(32, 0.0f);
  std::copy(zeros.begin(), zeros.end(), x.begin() + 64);  // an all-zero block
  std::vector<BlockQ8_0> q(3);
  quantize_row_q8_0(x.data(), q.data(), 96);
  std::vector<float> y(96);
  dequantize_row(DType::Q8_0, q.data(), y.data(), 96);
  for (int b = 0; b < 3; ++b) {
    double amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(static_cast<double>(x[b * 32 + j])));
    const double d = half_value(q[b].d);
    EXPECT_NEAR(d, amax / 127, amax / 127 * 1e-3 + 1e-12);  // the scale, rounded to half
    for (int j = 0; j < 32; ++j) {
      EXPECT_LE(std::abs(q[b].qs[j]), 127);
      EXPECT_DOUBLE_EQ(y[b * 32 + j], d * q[b].qs[j]);
      EXPECT_LE(std::fabs(y[b * 32 + j] - x[b * 32 + j]), d * 0.5 + amax * 1e-3) << b << " " << j;
    }
  }
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[64 + j], 0.0f);
}

TEST(DType, TableMatchesGgml) {
  EXPECT_EQ(dtype_info(DType::Q8_0).ggml_type, 8u);
  EXPECT_EQ(dtype_info(DType::BF16).ggml_type, 30u);
  EXPECT_EQ(*dtype_from_ggml(1), DType::F16);
  EXPECT_EQ(*dtype_from_ggml(2), DType::Q4_0);
  EXPECT_EQ(*dtype_from_ggml(12), DType::Q4_K);
  EXPECT_EQ(*dtype_from_ggml(13), DType::Q5_K);
  EXPECT_EQ(*dtype_from_ggml(14), DType::Q6_K);
  EXPECT_FALSE(dtype_from_ggml(11).has_value());  // Q3_K: not readable yet
  EXPECT_EQ(ggml_type_name(12), "Q4_K");
  EXPECT_EQ(row_bytes(DType::Q4_0, 64), 36u);
  EXPECT_EQ(row_bytes(DType::Q4_K, 512), 288u);
  EXPECT_EQ(row_bytes(DType::Q5_K, 256), 176u);
  EXPECT_EQ(row_bytes(DType::Q6_K, 256), 210u);
  EXPECT_FALSE(row_bytes_checked(DType::Q4_K, 128).has_value());
  EXPECT_EQ(*dtype_from_name("q8_0"), DType::Q8_0);
  EXPECT_EQ(row_bytes(DType::Q8_0, 64), 68u);
  EXPECT_FALSE(row_bytes_checked(DType::Q8_0, 48).has_value());
  EXPECT_EQ(row_bytes(DType::BF16, 3), 6u);
}

// Dequantization against llama.cpp's own reference (gguf-py's gguf.quants, run by
// tools/gen_quant_cases.py on random valid blocks; tests/data/quant/PROVENANCE.md).
TEST(Quant, DequantizationMatchesLlamaCppReference) {
  for (DType t : {DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    const std::string name(dtype_name(t));
    const std::string blocks = test::read_text(test::data_path("quant/" + name + ".blocks"));
    const std::vector<float> want = test::read_f32(test::data_path("quant/" + name + ".f32"));
    const DTypeInfo& info = dtype_info(t);
    ASSERT_EQ(blocks.size() % static_cast<size_t>(info.block_bytes), 0u);
    const auto n = static_cast<int64_t>(blocks.size() / static_cast<size_t>(info.block_bytes)) * info.block_elems;
    ASSERT_EQ(want.size(), static_cast<size_t>(n)) << name;
    std::vector<float> got(static_cast<size_t>(n));
    dequantize_row(t, blocks.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      // gguf-py computes in float32 numpy with the same operations, except that it may fuse
      // differently: allow one rounding of the largest term.
      ASSERT_NEAR(got[static_cast<size_t>(i)], want[static_cast<size_t>(i)], 2e-7f * std::fabs(want[static_cast<size_t>(i)]) + 1e-9f)
          << name << " value " << i;
    }
  }
}

TEST(Quant, Q4_0QuantizerMatchesLlamaCppReference) {
  const std::vector<float> x = test::read_f32(test::data_path("quant/q4_0_input.f32"));
  const std::string want = test::read_text(test::data_path("quant/q4_0_quantized.blocks"));
  ASSERT_EQ(x.size() % 32, 0u);
  std::string got(want.size(), '\0');
  quantize_row(DType::Q4_0, x.data(), got.data(), static_cast<int64_t>(x.size()));
  ASSERT_EQ(got.size(), x.size() / 32 * sizeof(BlockQ4_0));
  EXPECT_EQ(got, want);
  EXPECT_TRUE(has_quantizer(DType::Q4_0));
}

// The K-quant quantizers, by properties any correct one has (byte equality with llama-quantize's
// own output is tested on a real model in test_export): each value comes back within a step of its
// sub-block's grid, levels cover the range (the largest magnitude is hit within a step), an all-zero
// super-block comes back zero, and more bits give less error.
TEST(Quant, KQuantsRoundTripWithinTheirGrid) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(kQkK * 8);
  for (float& v : x) v = normal(rng);
  std::fill(x.begin(), x.begin() + kQkK, 0.0f);             // all zero
  for (int i = 0; i < kQkK; ++i) x[kQkK + i] = 0.01f;       // constant: offset only
  for (int i = 0; i < kQkK; ++i) x[2 * kQkK + i] *= 100.0f; // large
  const int64_t n = static_cast<int64_t>(x.size());
  double prev_err = 1e30;
  for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    ASSERT_TRUE(has_quantizer(t));
    std::vector<std::byte> q(*row_bytes_checked(t, n));
    quantize_row(t, x.data(), q.data(), n);
    std::vector<float> y(x.size());
    dequantize_row(t, q.data(), y.data(), n);
    const int bits = t == DType::Q4_K ? 4 : t == DType::Q5_K ? 5 : 6;
    double err = 0;
    for (int b = 0; b < 8; ++b) {
      float lo = 0, hi = 0;
      for (int i = 0; i < kQkK; ++i) {
        lo = std::min(lo, x[b * kQkK + i]);
        hi = std::max(hi, x[b * kQkK + i]);
      }
      // A step of the super-block's grid, with slack for the 6-bit scales and half-float d.
      const float step = (hi - lo) / static_cast<float>((1 << bits) - 1) * 1.6f + 1e-7f;
      for (int i = 0; i < kQkK; ++i) {
        const size_t at = static_cast<size_t>(b * kQkK + i);
        EXPECT_LE(std::fabs(y[at] - x[at]), step) << dtype_name(t) << " block " << b << " value " << i;
        err += (y[at] - x[at]) * (y[at] - x[at]);
      }
    }
    for (int i = 0; i < kQkK; ++i) EXPECT_EQ(y[static_cast<size_t>(i)], 0.0f) << dtype_name(t);
    EXPECT_LT(err, prev_err) << dtype_name(t) << " is not more exact than the type with fewer bits";
    prev_err = err;
  }
}

TEST(Shape, RowsColsAndPrinting) {
  Shape s{4, 3, 2};
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.cols(), 2);
  EXPECT_EQ(s.rows(), 12);
  EXPECT_EQ(s.str(), "[4, 3, 2]");
  EXPECT_FALSE(s == (Shape{4, 6}));
}

}  // namespace
}  // namespace qwenrt
