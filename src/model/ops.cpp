#include "model/ops.h"

#include "base/aligned_buffer.h"
#include "base/error.h"
#include "tensor/quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace qwenrt {

void linear(const ExecContext& ctx, const Weight& w, const float* x, int64_t n_tok, float* y) {
  if (n_tok == 0) return;
  const int64_t k = w.cols();
  const int64_t n_out = w.rows();
  const kernels::MatmulKernel& kernel = ctx.kernels->matmul[static_cast<int>(w.dtype)];
  const std::byte* act = reinterpret_cast<const std::byte*>(x);
  size_t act_row = static_cast<size_t>(k) * sizeof(float);
  AlignedBuffer quantized;
  if (kernel.act != kernels::ActFormat::F32) {
    act_row = kernels::act_row_bytes(kernel.act, k);
    quantized.resize(act_row * static_cast<size_t>(n_tok));
    ctx.pool->parallel_for(n_tok, 1, [&](int64_t t0, int64_t t1, int) {
      for (int64_t t = t0; t < t1; ++t) kernels::quantize_act_row(*ctx.kernels, kernel.act, x + t * k, quantized.data() + t * act_row, k);
    });
    act = quantized.data();
  }
  const size_t w_row = w.row_bytes();
  // Token blocks bound the activations each task touches; row ranges split the weights.
  constexpr int64_t kTokBlock = 64;
  // Decode streams the weights once: one contiguous share per thread keeps each thread's reads a
  // single sequential stream. Batches take smaller chunks to balance uneven progress.
  const int n_threads = ctx.pool->size();
  const int64_t chunk_rows = n_tok == 1 ? (n_out + n_threads - 1) / n_threads : 16;
  ctx.pool->parallel_for(n_out, chunk_rows, [&](int64_t r0, int64_t r1, int) {
    w.for_rows(r0, r1, [&](const TensorView& part, int64_t part_row, int64_t row, int64_t n) {
      for (int64_t t0 = 0; t0 < n_tok; t0 += kTokBlock) {
        kernels::MatmulArgs a{part.row(part_row), w_row, k, act + static_cast<size_t>(t0) * act_row, act_row,
                              static_cast<int>(std::min(kTokBlock, n_tok - t0)), y + t0 * n_out + row, n_out, 0, n};
        kernel.fn(a);
      }
    });
  });
}

void rms_norm(const ExecContext& ctx, const float* x, const float* weight, int64_t rows, int64_t n, float eps, float* y) {
  ctx.pool->parallel_for(rows, 4, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      double ss = 0.0;
      for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(xr[i]) * xr[i];
      const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
      for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * weight[i];
    }
  });
}

void rms_norm_vector(float* x, const float* weight, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * scale * weight[i];
}

void embed_rows(const Weight& table, const int32_t* ids, int64_t n, float* out) {
  const int64_t width = table.cols();
  for (int64_t i = 0; i < n; ++i) {
    QW_CHECK(ids[i] >= 0 && ids[i] < table.rows());
    dequantize_row(table.dtype, table.row(ids[i]), out + i * width, width);
  }
}

void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = silu(gate[i]) * up[i];
}

void add_in_place(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace qwenrt
