#pragma once
// Batched building-block operations on f32 activations, parallelised over the thread pool.
// Activations are row-major [n_tok x width].
#include "model/exec_context.h"
#include "io/weight.h"

#include <cstdint>
#include <vector>

namespace qwenrt {

// y[n_tok x w.rows()] = x[n_tok x w.cols()] . w^T, with w in its storage dtype.
void linear(const ExecContext& ctx, const Weight& w, const float* x, int64_t n_tok, float* y);

// Independent products y = x . w^T computed in one pass over the pool: a layer's projections of one
// input, a MoE layer's experts (a decode step's eight or ten small products would otherwise cost
// two pool passes each). Jobs with the same input rows and activation format share one
// quantization. Each result is what linear() gives for the job alone.
struct LinearJob {
  const Weight* w;
  const float* x;  // [n_tok x w->cols()]
  int64_t n_tok;
  float* y;  // [n_tok x w->rows()]
};
void linear_many(const ExecContext& ctx, const std::vector<LinearJob>& jobs);

// y = x / rms(x) * weight, per row of n values (y may alias x). Sums of squares in double.
void rms_norm(const ExecContext& ctx, const float* x, const float* weight, int64_t rows, int64_t n, float eps, float* y);

// One vector in place: x = x / rms(x) * weight.
void rms_norm_vector(const kernels::KernelTable& kt, float* x, const float* weight, int64_t n, float eps);

// out[i] = table row ids[i], widened to f32. ids must be in range (checked by the caller).
void embed_rows(const Weight& table, const int32_t* ids, int64_t n, float* out);

// gate[i] = silu(gate[i]) * up[i], on the kernel table, over the pool.
void silu_mul(const ExecContext& ctx, float* gate, const float* up, int64_t n);
// x[i] = silu(x[i]) on the kernel table, on this thread (silu_mul_f32 with up = 1, exact).
void silu_in_place(const kernels::KernelTable& kt, float* x, int64_t n);

// x[i] += y[i]
void add_in_place(float* x, const float* y, int64_t n);

inline float silu(float v) { return v / (1.0f + __builtin_expf(-v)); }
inline float sigmoid(float v) { return 1.0f / (1.0f + __builtin_expf(-v)); }

}  // namespace qwenrt
