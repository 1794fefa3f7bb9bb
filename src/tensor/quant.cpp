#include "tensor/quant.h"

#include "base/error.h"
#include "tensor/fp16.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace qwenrt {

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  QW_CHECK(n % kQ8_0BlockElems == 0);
  for (int64_t b = 0; b < n / kQ8_0BlockElems; ++b) {
    const float* xb = x + b * kQ8_0BlockElems;
    float amax = 0.0f;
    for (int j = 0; j < kQ8_0BlockElems; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQ8_0BlockElems; ++j) y[b].qs[j] = static_cast<int8_t>(std::roundf(xb[j] * id));
  }
}

void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t n) {
  QW_CHECK(n % kQ8_0BlockElems == 0);
  for (int64_t b = 0; b < n / kQ8_0BlockElems; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < kQ8_0BlockElems; ++j) y[b * kQ8_0BlockElems + j] = d * static_cast<float>(x[b].qs[j]);
  }
}

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t n) {
  QW_CHECK(n % kQ4_0BlockElems == 0);
  for (int64_t b = 0; b < n / kQ4_0BlockElems; ++b) {
    const float* xb = x + b * kQ4_0BlockElems;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQ4_0BlockElems; ++j) {
      if (amax < std::fabs(xb[j])) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQ4_0BlockElems / 2; ++j) {
      const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(xb[j] * id + 8.5f)));
      const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(xb[j + kQ4_0BlockElems / 2] * id + 8.5f)));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t n) {
  QW_CHECK(n % kQ4_0BlockElems == 0);
  for (int64_t b = 0; b < n / kQ4_0BlockElems; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    float* yb = y + b * kQ4_0BlockElems;
    for (int j = 0; j < kQ4_0BlockElems / 2; ++j) {
      yb[j] = static_cast<float>((x[b].qs[j] & 0x0F) - 8) * d;
      yb[j + kQ4_0BlockElems / 2] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

namespace {

// The j-th (6-bit scale, 6-bit min) of a Q4_K / Q5_K super-block (ggml's get_scale_min_k4).
void scale_min_k4(int j, const uint8_t* q, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = static_cast<uint8_t>((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// The (scale, min) pairs of chunk `chunk` (64 values) of a Q4_K / Q5_K super-block: the first for
// its 32 low nibbles, the second for its 32 high ones.
struct ChunkScales {
  float d1, m1, d2, m2;
};
ChunkScales chunk_scales(int chunk, const uint8_t* scales, float d, float dmin) {
  uint8_t sc, m;
  ChunkScales c;
  scale_min_k4(2 * chunk, scales, sc, m);
  c.d1 = d * sc;
  c.m1 = dmin * m;
  scale_min_k4(2 * chunk + 1, scales, sc, m);
  c.d2 = d * sc;
  c.m2 = dmin * m;
  return c;
}

}  // namespace

void dequantize_row_q4_k(const BlockQ4_K* x, float* y, int64_t n) {
  QW_CHECK(n % kQkK == 0);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
    const uint8_t* q = x[b].qs;
    // Four chunks of 64 values: 32 low nibbles with one (scale, min), 32 high nibbles with the next.
    for (int chunk = 0; chunk < 4; ++chunk) {
      const auto [d1, m1, d2, m2] = chunk_scales(chunk, x[b].scales, d, dmin);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0F) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      q += 32;
    }
  }
}

void dequantize_row_q5_k(const BlockQ5_K* x, float* y, int64_t n) {
  QW_CHECK(n % kQkK == 0);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
    const uint8_t* ql = x[b].qs;
    const uint8_t* qh = x[b].qh;
    for (int chunk = 0; chunk < 4; ++chunk) {
      const auto [d1, m1, d2, m2] = chunk_scales(chunk, x[b].scales, d, dmin);
      const uint8_t u1 = static_cast<uint8_t>(1u << (2 * chunk)), u2 = static_cast<uint8_t>(2u << (2 * chunk));
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0x0F) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
    }
  }
}

void dequantize_row_q6_k(const BlockQ6_K* x, float* y, int64_t n) {
  QW_CHECK(n % kQkK == 0);
  for (int64_t b = 0; b < n / kQkK; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    const uint8_t* ql = x[b].ql;
    const uint8_t* qh = x[b].qh;
    const int8_t* sc = x[b].scales;
    // Two halves of 128 values; in each, value l + 32 i takes bits from ql[l (+32)] and qh[l].
    for (int half = 0; half < 2; ++half) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

bool has_quantizer(DType t) {
  switch (t) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q8_0:
    case DType::Q4_0:
      return true;
    default:
      return false;
  }
}

void quantize_row(DType t, const float* x, void* dst, int64_t n) {
  switch (t) {
    case DType::F32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
      return;
    }
    case DType::BF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
      return;
    }
    case DType::Q8_0:
      quantize_row_q8_0(x, static_cast<BlockQ8_0*>(dst), n);
      return;
    case DType::Q4_0:
      quantize_row_q4_0(x, static_cast<BlockQ4_0*>(dst), n);
      return;
    default:
      break;
  }
  QW_CHECK(false);
}

void dequantize_row(DType t, const void* src, float* y, int64_t n) {
  switch (t) {
    case DType::F32:
      std::memcpy(y, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      const auto* x = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
      return;
    }
    case DType::BF16: {
      const auto* x = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(x[i]);
      return;
    }
    case DType::Q8_0:
      dequantize_row_q8_0(static_cast<const BlockQ8_0*>(src), y, n);
      return;
    case DType::Q4_0:
      dequantize_row_q4_0(static_cast<const BlockQ4_0*>(src), y, n);
      return;
    case DType::Q4_K:
      dequantize_row_q4_k(static_cast<const BlockQ4_K*>(src), y, n);
      return;
    case DType::Q5_K:
      dequantize_row_q5_k(static_cast<const BlockQ5_K*>(src), y, n);
      return;
    case DType::Q6_K:
      dequantize_row_q6_k(static_cast<const BlockQ6_K*>(src), y, n);
      return;
  }
  QW_CHECK(false);
}

}  // namespace qwenrt
