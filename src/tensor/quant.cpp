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

namespace {

// Round to nearest, ties to even (ggml's nearest_int), for the bounded values quantizers feed it.
int nearest(float v) { return static_cast<int>(std::nearbyint(std::clamp(v, -4194303.0f, 4194303.0f))); }

// Fits x[0..n) with value = scale * L - m, L in 0..nmax, m >= 0, minimising the w-weighted squared
// error: a first guess from the range, then for each trial grid (nmax + rmin + rdelta k over the
// range, k = 0..nstep) the weighted least-squares scale and offset of that grid's levels, keeping the
// best. ggml's make_qkx2_quants (squared-error variant), in its order of float operations, so that
// the blocks come out byte for byte as llama-quantize writes them. Returns scale; *m_out = m.
float fit_scale_offset(int n, int nmax, const float* x, const float* w, uint8_t* levels, float* m_out, float rmin,
                       float rdelta, int nstep) {
  float lo = x[0], hi = x[0];
  float sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (lo > 0) lo = 0;
  if (hi == lo) {
    std::fill(levels, levels + n, uint8_t{0});
    *m_out = -lo;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (hi - lo);
  float scale = 1.0f / iscale;
  float best_error = 0.0f;
  for (int i = 0; i < n; ++i) {
    levels[i] = static_cast<uint8_t>(std::clamp(nearest(iscale * (x[i] - lo)), 0, nmax));
    const float diff = scale * levels[i] + lo - x[i];
    best_error += w[i] * (diff * diff);
  }
  uint8_t trial[32];
  QW_CHECK(n <= 32);
  for (int k = 0; k <= nstep; ++k) {
    iscale = (rmin + rdelta * static_cast<float>(k) + static_cast<float>(nmax)) / (hi - lo);
    float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest(iscale * (x[i] - lo)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      const float wl = w[i] * static_cast<float>(l);
      sum_l += wl;
      sum_l2 += wl * static_cast<float>(l);
      sum_xl += wl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * trial[i] + this_min - x[i];
      error += w[i] * (diff * diff);
    }
    if (error < best_error) {
      std::copy(trial, trial + n, levels);
      best_error = error;
      scale = this_scale;
      lo = this_min;
    }
  }
  *m_out = -lo;
  return scale;
}

// Fits x[0..n) with value = scale * (L - nmax), L in 0..2 nmax - 1, weighting each value by its
// square: nineteen trial scales around -nmax / (the value of largest magnitude), each scored by
// its least-squares fit. ggml's make_qx_quants with rmse_type 1, in its float order. Returns scale.
float fit_symmetric_scale(int n, int nmax, const float* x, int8_t* levels) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-15f) {
    std::fill(levels, levels + n, int8_t{0});
    return 0.0f;
  }
  const auto fit = [&](float iscale, float& sumlx, float& suml2) {
    sumlx = suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float l = static_cast<float>(std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
  };
  const auto assign = [&](float iscale) {
    for (int i = 0; i < n; ++i) levels[i] = static_cast<int8_t>(nmax + std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1));
  };
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx, suml2;
  fit(iscale, sumlx, suml2);
  assign(iscale);
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int k = -9; k <= 9; ++k) {
    if (k == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(k)) / max;
    fit(iscale, sumlx, suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      assign(iscale);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// The shared first half of Q4_K and Q5_K: per 32-value sub-block a (scale, min) fit, then both
// quantized to 6 bits against the super-block's largest (d, dmin), packed as scale_min_k4 reads
// them; returns the levels, requantized against the 6-bit scales.
void quantize_k_scales(const float* x, int nmax, float rmin, float rdelta, int nstep, uint16_t& d_out, uint16_t& dmin_out,
                       uint8_t* packed, uint8_t* levels) {
  float scales[kQkK / 32], mins[kQkK / 32], weights[32];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < kQkK / 32; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0.0f;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = fit_scale_offset(32, nmax, xs, weights, levels + 32 * j, &mins[j], rmin, rdelta, nstep);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  std::memset(packed, 0, 12);
  for (int j = 0; j < kQkK / 32; ++j) {
    const auto ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest(inv_scale * scales[j])));
    const auto lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest(inv_min * mins[j])));
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls & 0x0F) | ((lm & 0x0F) << 4));
      packed[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  d_out = fp32_to_fp16(max_scale / 63.0f);
  dmin_out = fp32_to_fp16(max_min / 63.0f);
  for (int j = 0; j < kQkK / 32; ++j) {
    uint8_t sc, m;
    scale_min_k4(j, packed, sc, m);
    const float d = fp16_to_fp32(d_out) * sc;
    if (d == 0.0f) continue;  // the fit's levels stay
    const float dm = fp16_to_fp32(dmin_out) * m;
    for (int l = 0; l < 32; ++l) levels[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest((x[32 * j + l] + dm) / d), 0, nmax));
  }
}

}  // namespace

void quantize_row_q4_k(const float* x, BlockQ4_K* y, int64_t n) {
  QW_CHECK(n % kQkK == 0);
  uint8_t levels[kQkK];
  for (int64_t b = 0; b < n / kQkK; ++b, x += kQkK) {
    quantize_k_scales(x, 15, -1.0f, 0.1f, 20, y[b].d, y[b].dmin, y[b].scales, levels);
    uint8_t* q = y[b].qs;
    for (int j = 0; j < kQkK; j += 64, q += 32) {
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(levels[j + l] | (levels[j + l + 32] << 4));
    }
  }
}

void quantize_row_q5_k(const float* x, BlockQ5_K* y, int64_t n) {
  QW_CHECK(n % kQkK == 0);
  uint8_t levels[kQkK];
  for (int64_t b = 0; b < n / kQkK; ++b, x += kQkK) {
    quantize_k_scales(x, 31, -0.5f, 0.1f, 15, y[b].d, y[b].dmin, y[b].scales, levels);
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    uint8_t* ql = y[b].qs;
    for (int j = 0, chunk = 0; j < kQkK; j += 64, ++chunk, ql += 32) {
      for (int l = 0; l < 32; ++l) {
        const int l1 = levels[j + l], l2 = levels[j + l + 32];
        if (l1 > 15) y[b].qh[l] |= static_cast<uint8_t>(1u << (2 * chunk));
        if (l2 > 15) y[b].qh[l] |= static_cast<uint8_t>(2u << (2 * chunk));
        ql[l] = static_cast<uint8_t>((l1 & 0x0F) | ((l2 & 0x0F) << 4));
      }
    }
  }
}

void quantize_row_q6_k(const float* x, BlockQ6_K* y, int64_t n) {
  QW_CHECK(n % kQkK == 0);
  int8_t levels[kQkK];
  float scales[kQkK / 16];
  for (int64_t b = 0; b < n / kQkK; ++b, x += kQkK) {
    float max_scale = 0.0f, max_abs_scale = 0.0f;
    for (int j = 0; j < kQkK / 16; ++j) {
      scales[j] = fit_symmetric_scale(16, 32, x + 16 * j, levels + 16 * j);
      if (std::fabs(scales[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    std::memset(&y[b], 0, sizeof(BlockQ6_K));
    if (max_abs_scale < 1e-15f) continue;  // an all-zero block: d = 0
    const float iscale = -128.0f / max_scale;
    y[b].d = fp32_to_fp16(1.0f / iscale);
    for (int j = 0; j < kQkK / 16; ++j) y[b].scales[j] = static_cast<int8_t>(std::min(127, nearest(iscale * scales[j])));
    for (int j = 0; j < kQkK / 16; ++j) {
      const float d = fp16_to_fp32(y[b].d) * static_cast<float>(y[b].scales[j]);
      if (d == 0.0f) continue;
      for (int l = 0; l < 16; ++l) levels[16 * j + l] = static_cast<int8_t>(std::clamp(nearest(x[16 * j + l] / d), -32, 31) + 32);
    }
    uint8_t* ql = y[b].ql;
    uint8_t* qh = y[b].qh;
    for (int j = 0; j < kQkK; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const int q1 = levels[j + l], q2 = levels[j + l + 32], q3 = levels[j + l + 64], q4 = levels[j + l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0x0F) | ((q3 & 0x0F) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0x0F) | ((q4 & 0x0F) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }
}

void unpack_k4_scales(const uint8_t* packed, uint8_t* scales, uint8_t* mins) {
  for (int j = 0; j < 8; ++j) scale_min_k4(j, packed, scales[j], mins[j]);
}

bool has_quantizer(DType t) {
  switch (t) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return true;
  }
  return false;  // not a DType
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
    case DType::Q4_K:
      quantize_row_q4_k(x, static_cast<BlockQ4_K*>(dst), n);
      return;
    case DType::Q5_K:
      quantize_row_q5_k(x, static_cast<BlockQ5_K*>(dst), n);
      return;
    case DType::Q6_K:
      quantize_row_q6_k(x, static_cast<BlockQ6_K*>(dst), n);
      return;
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
