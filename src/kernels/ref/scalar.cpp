// Scalar kernels: the readable oracle every SIMD variant is tested against, and the fallback
// for CPUs without AVX2. Accumulation is in float, in index order.
#include "kernels/kernels.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"

#include <cmath>
#include <cstring>

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

void quantize_q8_act(const float* x, BlockQ8Act* out, int64_t k) {
  for (int64_t b = 0; b < k / kQ8ActBlockElems; ++b) {
    const float* xb = x + b * kQ8ActBlockElems;
    float amax = 0.0f;
    for (int j = 0; j < kQ8ActBlockElems; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[b].d = d;
    for (int j = 0; j < kQ8ActBlockElems; ++j) out[b].qs[j] = static_cast<int8_t>(std::nearbyint(xb[j] * id));
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
void matmul_q4_k(const MatmulArgs& a) { matmul_dequantized(a, DType::Q4_K, dot_f32); }
void matmul_q5_k(const MatmulArgs& a) { matmul_dequantized(a, DType::Q5_K, dot_f32); }
void matmul_q6_k(const MatmulArgs& a) { matmul_dequantized(a, DType::Q6_K, dot_f32); }

}  // namespace

const KernelTable& scalar_kernels() {
  static const KernelTable table = {
      Isa::Scalar,
      {{ActFormat::F32, matmul_f32},
       {ActFormat::F32, matmul_f16},
       {ActFormat::F32, matmul_bf16},
       {ActFormat::Q8, matmul_q8_0},
       {ActFormat::F32, matmul_q4_0},
       {ActFormat::F32, matmul_q4_k},
       {ActFormat::F32, matmul_q5_k},
       {ActFormat::F32, matmul_q6_k}},
      quantize_q8_act,
      dot_f32,
      axpy_f32,
      scale_f32,
      stream_read,
  };
  return table;
}

}  // namespace qwenrt::kernels
