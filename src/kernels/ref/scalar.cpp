// Scalar kernels: the readable oracle every SIMD variant is tested against, and the fallback
// for CPUs without AVX2. Accumulation is in float, in index order.
#include "kernels/kernels.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace qwenrt::kernels {
namespace {

template <typename ToFloat>
void matmul_float_weights(const MatmulArgs& a, ToFloat to_float) {
  for (int t = 0; t < a.n_tok; ++t) {
    const float* x = reinterpret_cast<const float*>(a.x + static_cast<size_t>(t) * a.x_row_bytes);
    for (int64_t r = a.r0; r < a.r1; ++r) {
      const std::byte* w = a.w + static_cast<size_t>(r) * a.w_row_bytes;
      float sum = 0.0f;
      for (int64_t c = 0; c < a.k; ++c) sum += to_float(w, c) * x[c];
      a.y[t * a.y_stride + r] = sum;
    }
  }
}

void matmul_f32(const MatmulArgs& a) {
  matmul_float_weights(a, [](const std::byte* w, int64_t c) { return reinterpret_cast<const float*>(w)[c]; });
}

void matmul_f16(const MatmulArgs& a) {
  matmul_float_weights(a, [](const std::byte* w, int64_t c) {
    return fp16_to_fp32(reinterpret_cast<const uint16_t*>(w)[c]);
  });
}

void matmul_bf16(const MatmulArgs& a) {
  matmul_float_weights(a, [](const std::byte* w, int64_t c) {
    return bf16_to_fp32(reinterpret_cast<const uint16_t*>(w)[c]);
  });
}

void matmul_q8_0(const MatmulArgs& a) {
  const int64_t nb = a.k / kQ8_0BlockElems;
  for (int t = 0; t < a.n_tok; ++t) {
    const auto* x = reinterpret_cast<const BlockQ8Act*>(a.x + static_cast<size_t>(t) * a.x_row_bytes);
    for (int64_t r = a.r0; r < a.r1; ++r) {
      const auto* w = reinterpret_cast<const BlockQ8_0*>(a.w + static_cast<size_t>(r) * a.w_row_bytes);
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < kQ8_0BlockElems; ++j) isum += int32_t{w[b].qs[j]} * int32_t{x[b].qs[j]};
        sum += fp16_to_fp32(w[b].d) * x[b].d * static_cast<float>(isum);
      }
      a.y[t * a.y_stride + r] = sum;
    }
  }
}

// One activation block: d = max|x| / 127, q = round-half-even(x / d); returns d.
float quantize_act_block(const float* x, int8_t* q, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < n; ++j) q[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
  return d;
}

void quantize_q8_act(const float* x, BlockQ8Act* out, int64_t k) {
  for (int64_t b = 0; b < k / kQ8ActBlockElems; ++b) {
    out[b].d = quantize_act_block(x + b * kQ8ActBlockElems, out[b].qs, kQ8ActBlockElems);
  }
}

void quantize_q8k_act(const float* x, BlockQ8K* out, int64_t k) {
  for (int64_t b = 0; b < k / kQ8KBlockElems; ++b) {
    out[b].d = quantize_act_block(x + b * kQ8KBlockElems, out[b].qs, kQ8KBlockElems);
    for (int g = 0; g < kQ8KBlockElems / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += out[b].qs[16 * g + j];
      out[b].bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

// The K-quants against Q8K activations, super-block by super-block: the integer sums the SIMD
// kernels form (levels times activations weighted by the sub-block scales, and the offset terms
// from the sums of 16), then value = d_x * (d * isum - offset_scale * msum).
struct KSums {
  int32_t isum = 0, msum = 0;
  float d = 0.0f, offset_scale = 0.0f;
};

template <int kBits, class Block>
KSums q45_k_sums(const Block& w, const BlockQ8K& x) {
  uint8_t sc[8], m[8];
  unpack_k4_scales(w.scales, sc, m);
  KSums s;
  for (int j = 0; j < 8; ++j) {
    const int chunk = j / 2, shift = 4 * (j % 2);
    int32_t dot = 0;
    for (int l = 0; l < 32; ++l) {
      int q = (w.qs[32 * chunk + l] >> shift) & 0x0F;
      if constexpr (kBits == 5) q |= ((w.qh[l] >> j) & 1) << 4;
      dot += q * x.qs[32 * j + l];
    }
    s.isum += sc[j] * dot;
    s.msum += m[j] * (x.bsums[2 * j] + x.bsums[2 * j + 1]);
  }
  s.d = fp16_to_fp32(w.d);
  s.offset_scale = fp16_to_fp32(w.dmin);
  return s;
}

KSums q6_k_sums(const BlockQ6_K& w, const BlockQ8K& x) {
  int8_t q[kQkK];
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = w.ql + 64 * half;
    const uint8_t* qh = w.qh + 32 * half;
    int8_t* v = q + 128 * half;
    for (int l = 0; l < 32; ++l) {
      v[l] = static_cast<int8_t>((ql[l] & 0x0F) | ((qh[l] & 3) << 4));
      v[l + 32] = static_cast<int8_t>((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4));
      v[l + 64] = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      v[l + 96] = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
  KSums s;
  for (int j = 0; j < 16; ++j) {
    int32_t dot = 0;
    for (int l = 0; l < 16; ++l) dot += q[16 * j + l] * x.qs[16 * j + l];
    s.isum += w.scales[j] * dot;
    s.msum += w.scales[j] * x.bsums[j];
  }
  s.d = fp16_to_fp32(w.d);
  s.offset_scale = 32.0f * s.d;  // levels are stored + 32
  return s;
}

template <class Block, KSums (*Sums)(const Block&, const BlockQ8K&)>
void matmul_k(const MatmulArgs& a) {
  const int64_t nb = a.k / kQkK;
  for (int t = 0; t < a.n_tok; ++t) {
    const auto* x = reinterpret_cast<const BlockQ8K*>(a.x + static_cast<size_t>(t) * a.x_row_bytes);
    for (int64_t r = a.r0; r < a.r1; ++r) {
      const auto* w = reinterpret_cast<const Block*>(a.w + static_cast<size_t>(r) * a.w_row_bytes);
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const KSums s = Sums(w[b], x[b]);
        sum += x[b].d * s.d * static_cast<float>(s.isum) - x[b].d * s.offset_scale * static_cast<float>(s.msum);
      }
      a.y[t * a.y_stride + r] = sum;
    }
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void scale_f32(float* y, float alpha, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= alpha;
}

double sum_squares_f64(const float* x, int64_t n) {
  double acc[16] = {};
  for (int64_t i = 0; i < n; ++i) acc[i % 16] += static_cast<double>(x[i]) * x[i];
  return sum_lanes_f64(acc);
}

float scale_max_f32(float* x, float alpha, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i] *= alpha);
  return m;
}

float exp_sum_f32(float* x, float m, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] = std::exp(x[i] - m);
  return sum;
}

void silu_mul_f32(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

inline float widen(float v) { return v; }
inline float widen(uint16_t h) { return fp16_to_fp32(h); }

template <class T>
void attn_scores_t(const float* q, int64_t q_stride, int nq, const T* keys, int n, int64_t dim, float* scores) {
  for (int i = 0; i < nq; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int64_t d = 0; d < dim; ++d) sum += q[i * q_stride + d] * widen(keys[j * dim + d]);
      scores[i * n + j] = sum;
    }
  }
}

template <class T>
void attn_accumulate_t(const float* p, int nq, int n, const T* vals, int64_t dim, float* out, int64_t out_stride) {
  for (int i = 0; i < nq; ++i) {
    for (int j = 0; j < n; ++j) {
      for (int64_t d = 0; d < dim; ++d) out[i * out_stride + d] = std::fma(p[i * n + j], widen(vals[j * dim + d]), out[i * out_stride + d]);
    }
  }
}

void f32_to_f16(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_fp16(x[i]);
}

uint64_t stream_read(const std::byte* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    sum ^= v;
  }
  return sum;
}

// Not yet specialised: dequantize and dot (kernels.h).
void matmul_q4_0(const MatmulArgs& a) { matmul_dequantized(a, DType::Q4_0, dot_f32); }
void matmul_q4_k(const MatmulArgs& a) { matmul_k<BlockQ4_K, q45_k_sums<4, BlockQ4_K>>(a); }
void matmul_q5_k(const MatmulArgs& a) { matmul_k<BlockQ5_K, q45_k_sums<5, BlockQ5_K>>(a); }
void matmul_q6_k(const MatmulArgs& a) { matmul_k<BlockQ6_K, q6_k_sums>(a); }

}  // namespace

const KernelTable& scalar_kernels() {
  static const KernelTable table = {
      Isa::Scalar,
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
      attn_scores_t<float>,
      attn_accumulate_t<float>,
      attn_scores_t<uint16_t>,
      attn_accumulate_t<uint16_t>,
      f32_to_f16,
      stream_read,
  };
  return table;
}

}  // namespace qwenrt::kernels
