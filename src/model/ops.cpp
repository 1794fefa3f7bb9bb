#include "model/ops.h"

#include "base/error.h"
#include "base/scratch.h"
#include "kernels/row_groups.h"
#include "tensor/quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace qwenrt {

void linear(const ExecContext& ctx, const Weight& w, const float* x, int64_t n_tok, float* y) {
  linear_many(ctx, {LinearJob{&w, x, n_tok, y}});
}

void linear_many(const ExecContext& ctx, const std::vector<LinearJob>& jobs) {
  // The activation rows each job's kernel wants: one block per distinct (input, format).
  struct Input {
    const float* x;
    int64_t n_tok, k;
    kernels::ActFormat format;
    size_t row_bytes, offset;
  };
  std::vector<Input> inputs;
  std::vector<int> input_of(jobs.size(), -1);  // -1: the kernel reads the floats as they are
  size_t total = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const LinearJob& job = jobs[j];
    const kernels::ActFormat f = ctx.kernels->matmul[static_cast<int>(job.w->dtype)].act;
    if (job.n_tok == 0 || f == kernels::ActFormat::F32) continue;
    const int64_t k = job.w->cols();
    for (size_t i = 0; i < inputs.size() && input_of[j] < 0; ++i) {
      const Input& in = inputs[i];
      if (in.x == job.x && in.n_tok == job.n_tok && in.k == k && in.format == f) input_of[j] = static_cast<int>(i);
    }
    if (input_of[j] >= 0) continue;
    input_of[j] = static_cast<int>(inputs.size());
    const size_t row = kernels::act_row_bytes(f, k);
    inputs.push_back({job.x, job.n_tok, k, f, row, total});
    total += row * static_cast<size_t>(job.n_tok);
  }
  ScratchBytes quantized(total);
  if (!inputs.empty()) {
    std::vector<int64_t> first_row{0};  // input i's rows are [first_row[i], first_row[i + 1]) of all
    for (const Input& in : inputs) first_row.push_back(first_row.back() + in.n_tok);
    ctx.pool->parallel_for(first_row.back(), 1, [&](int64_t a, int64_t b, int) {
      for (int64_t r = a; r < b; ++r) {
        const size_t i = static_cast<size_t>(std::upper_bound(first_row.begin(), first_row.end(), r) - first_row.begin() - 1);
        const Input& in = inputs[i];
        const int64_t t = r - first_row[i];
        kernels::quantize_act_row(*ctx.kernels, in.format, in.x + t * in.k,
                                  quantized.data() + in.offset + static_cast<size_t>(t) * in.row_bytes, in.k);
      }
    });
  }

  // Row ranges, as parallel_for would cut each job alone. Decode streams the weights once: one
  // contiguous share per thread keeps each thread's reads a single sequential stream. Batches take
  // smaller chunks to balance uneven progress.
  struct Task {
    size_t job;
    int64_t r0, r1;
  };
  std::vector<Task> tasks;
  const int64_t n_threads = ctx.pool->size();
  for (size_t j = 0; j < jobs.size(); ++j) {
    const Weight& w = *jobs[j].w;
    const int64_t n_out = w.rows(), n_tok = jobs[j].n_tok;
    if (n_tok == 0 || n_out == 0) continue;
    if (w.row_groups() && !ctx.kernels->matmul[static_cast<int>(w.dtype)].groups) {
      fail("a {} weight is stored in row groups, which the {} kernels cannot read (load the model with the kernels it "
           "runs with)", dtype_name(w.dtype), kernels::isa_name(ctx.kernels->isa));
    }
    const int64_t grain = n_tok == 1 ? (n_out + n_threads - 1) / n_threads : 16;
    const int64_t max_chunks = n_threads * (n_out >= 8 * grain * n_threads ? 4 : 1);
    const int64_t chunks = std::clamp<int64_t>(n_out / grain, 1, max_chunks);
    int64_t per = (n_out + chunks - 1) / chunks;
    if (w.row_groups()) per = (per + kernels::kRowGroup - 1) / kernels::kRowGroup * kernels::kRowGroup;  // whole groups
    for (int64_t r0 = 0; r0 < n_out; r0 += per) tasks.push_back({j, r0, std::min(n_out, r0 + per)});
  }
  // Token blocks bound the activations each task touches; row ranges split the weights. The float
  // kernels want 64 tokens (f32 rows; 128 measured 10 % slower on the 0.6B shape's F16 pp512), the
  // panel kernels of the quantized types 128 (their 16-row panels are packed once per block: Q8_0
  // pp512 +10 %, Q4_K_M +2-4 %; 256 slower for Q4_K_M).
  auto tok_block = [](int in) -> int64_t { return in < 0 ? 64 : 128; };
  if (tasks.empty()) return;
  ctx.pool->run(static_cast<int64_t>(tasks.size()), [&](int64_t task, int) {
    const Task& tk = tasks[static_cast<size_t>(task)];
    const LinearJob& job = jobs[tk.job];
    const Weight& w = *job.w;
    const int64_t k = w.cols(), n_out = w.rows();
    const kernels::MatmulKernel& kernel = ctx.kernels->matmul[static_cast<int>(w.dtype)];
    const kernels::MatmulFn fn = w.row_groups() ? kernel.groups : kernel.fn;
    const int in = input_of[tk.job];
    const std::byte* act = in < 0 ? reinterpret_cast<const std::byte*>(job.x) : quantized.data() + inputs[static_cast<size_t>(in)].offset;
    const size_t act_row = in < 0 ? static_cast<size_t>(k) * sizeof(float) : inputs[static_cast<size_t>(in)].row_bytes;
    const size_t w_row = w.row_bytes();
    w.for_rows(tk.r0, tk.r1, [&](const TensorView& part, int64_t part_row, int64_t row, int64_t n) {
      const int64_t block = tok_block(in);
      for (int64_t t0 = 0; t0 < job.n_tok; t0 += block) {
        kernels::MatmulArgs a{part.row(part_row), w_row, k, act + static_cast<size_t>(t0) * act_row, act_row,
                              static_cast<int>(std::min(block, job.n_tok - t0)), job.y + t0 * n_out + row, n_out, 0, n};
        fn(a);
      }
    });
  });
}

void rms_norm(const ExecContext& ctx, const float* x, const float* weight, int64_t rows, int64_t n, float eps, float* y) {
  ctx.pool->parallel_for(rows, 4, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      const double ss = ctx.kernels->sum_squares_f64(xr, n);
      const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
      for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * weight[i];
    }
  });
}

void rms_norm_vector(const kernels::KernelTable& kt, float* x, const float* weight, int64_t n, float eps) {
  const double ss = kt.sum_squares_f64(x, n);
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

void silu_in_place(const kernels::KernelTable& kt, float* x, int64_t n) {
  static const std::vector<float> ones(1024, 1.0f);
  for (int64_t i = 0; i < n; i += 1024) kt.silu_mul_f32(x + i, ones.data(), std::min<int64_t>(1024, n - i));
}

void silu_mul(const ExecContext& ctx, float* gate, const float* up, int64_t n) {
  // Chunks of 4096: a decode step's few thousand values stay on one thread.
  ctx.pool->parallel_for((n + 4095) / 4096, 1, [&](int64_t c0, int64_t c1, int) {
    const int64_t i0 = c0 * 4096, i1 = std::min(n, c1 * 4096);
    ctx.kernels->silu_mul_f32(gate + i0, up + i0, i1 - i0);
  });
}

void add_in_place(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace qwenrt
