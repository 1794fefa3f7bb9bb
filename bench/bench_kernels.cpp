// Kernel micro-benchmarks: matmul per weight type and ISA level, single-threaded (the kernel
// itself) and through model/ops' linear() on all cores. Decode shapes report weight bytes/s
// (they are bandwidth-bound); batch shapes report FLOP/s.
#include "kernels/kernels.h"
#include "kernels/row_groups.h"
#include "model/ops.h"
#include "tensor/quant.h"
#include "threading/thread_pool.h"

#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

namespace qwenrt {
namespace {

struct Matrix {
  std::vector<std::byte> bytes;
  TensorView view;
};

Matrix make_matrix(DType t, int64_t rows, int64_t cols) {
  Matrix m;
  m.bytes.resize(row_bytes(t, cols) * static_cast<size_t>(rows));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = dist(rng);
    quantize_row(t, row.data(), m.bytes.data() + static_cast<size_t>(r) * row_bytes(t, cols), cols);
  }
  m.view = TensorView{t, Shape{rows, cols}, m.bytes.data()};
  return m;
}

// args: dtype, isa, n_tok, row groups (1: the weight in row groups, read by the level's groups
// kernel). Weight 2048 x 2048 (a Qwen3-1.7B projection), one thread.
void BM_MatmulKernel(benchmark::State& state) {
  const auto t = static_cast<DType>(state.range(0));
  const kernels::KernelTable* kt = kernels::kernel_table_for(static_cast<kernels::Isa>(state.range(1)));
  if (!kt) {
    state.SkipWithError("ISA not supported on this CPU");
    return;
  }
  const int n_tok = static_cast<int>(state.range(2));
  const bool groups = state.range(3) != 0;
  const int64_t rows = 2048, k = 2048;
  Matrix w = make_matrix(t, rows, k);
  std::vector<float> x(static_cast<size_t>(n_tok * k), 0.5f), y(static_cast<size_t>(n_tok * rows));
  const auto& kernel = kt->matmul[static_cast<int>(t)];
  const kernels::MatmulFn fn = groups ? kernel.groups : kernel.fn;
  if (!fn) {
    state.SkipWithError("no row-group kernel for this type and ISA");
    return;
  }
  if (groups) {
    std::vector<std::byte> scratch(w.view.row_bytes() * kernels::kRowGroup);
    kernels::to_row_groups(t, w.bytes.data(), rows, k, scratch.data());
  }
  std::vector<std::byte> act(kernels::act_row_bytes(kernel.act, k) * static_cast<size_t>(n_tok));
  const size_t act_row = kernels::act_row_bytes(kernel.act, k);
  for (int i = 0; i < n_tok; ++i) kernels::quantize_act_row(*kt, kernel.act, x.data() + i * k, act.data() + i * act_row, k);
  kernels::MatmulArgs a{w.view.data, w.view.row_bytes(), k, act.data(), kernels::act_row_bytes(kernel.act, k), n_tok,
                        y.data(), rows, 0, rows};
  for (auto _ : state) {
    fn(a);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.view.nbytes()));
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * rows * k * n_tok * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_name(t)) + " " + kernels::isa_name(kt->isa) + (groups ? " row groups" : ""));
}

// linear() on all cores with the dispatched kernels: weight 4096 x 1024 (rows x k).
void BM_Linear(benchmark::State& state) {
  const auto t = static_cast<DType>(state.range(0));
  const int n_tok = static_cast<int>(state.range(1));
  ThreadPool pool;
  ExecContext ctx{&pool, &kernels::kernel_table(), nullptr};
  const Matrix w = make_matrix(t, 4096, 1024);
  std::vector<float> x(static_cast<size_t>(n_tok) * 1024, 0.25f), y(static_cast<size_t>(n_tok) * 4096);
  for (auto _ : state) {
    linear(ctx, Weight::of(w.view), x.data(), n_tok, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.view.nbytes()));
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * 4096 * 1024 * n_tok * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_name(t)) + " " + std::to_string(pool.size()) + " threads");
}

// Decode on a weight far larger than the caches (256 MiB in F16): the bytes/s here is what decode
// can reach; compare with `qwenrt bench`'s read-bandwidth roofline.
void BM_LinearDecodeLarge(benchmark::State& state) {
  const auto t = static_cast<DType>(state.range(0));
  ThreadPool pool;
  ExecContext ctx{&pool, &kernels::kernel_table(), nullptr};
  const int64_t rows = state.range(1), k = state.range(2);
  Matrix w = make_matrix(t, rows, k);
  if (state.range(3) != 0) {  // in row groups
    if (!kernels::kernel_table().matmul[static_cast<int>(t)].groups) {
      state.SkipWithError("no row-group kernel for this type here");
      return;
    }
    std::vector<std::byte> scratch(w.view.row_bytes() * kernels::kRowGroup);
    kernels::to_row_groups(t, w.bytes.data(), rows, k, scratch.data());
    w.view.row_groups = true;
  }
  std::vector<float> x(static_cast<size_t>(k), 0.25f), y(static_cast<size_t>(rows));
  for (auto _ : state) {
    linear(ctx, Weight::of(w.view), x.data(), 1, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(w.view.nbytes()));
  state.SetLabel(std::string(dtype_name(t)) + " " + std::to_string(pool.size()) + " threads" +
                 (state.range(3) != 0 ? " row groups" : ""));
}
// args: dtype, rows, k, row groups.
BENCHMARK(BM_LinearDecodeLarge)
    ->Args({1, 32768, 4096, 0})
    ->Args({1, 151936, 1024, 0})
    ->Args({1, 3072, 1024, 0})
    ->Args({2, 32768, 4096, 0})
    ->Args({3, 32768, 4096, 0})
    ->Args({3, 32768, 4096, 1})
    ->Args({5, 65536, 4096, 0})
    ->Args({5, 65536, 4096, 1})
    ->Args({7, 65536, 4096, 0})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void matmul_args(benchmark::internal::Benchmark* b) {
  for (int t : {0, 1, 2, 3, 5, 6, 7}) {  // F32, F16, BF16, Q8_0, Q4_K, Q5_K, Q6_K
    for (int isa : {0, 1, 2, 3}) {
      for (int n_tok : {1, 16, 64}) {
        b->Args({t, isa, n_tok, 0});
        if (isa == 3 && (t == 3 || t == 5 || t == 6)) b->Args({t, isa, n_tok, 1});  // the types with row-group kernels
      }
    }
  }
}

void linear_args(benchmark::internal::Benchmark* b) {
  for (int t : {0, 1, 2, 3}) {
    for (int n_tok : {1, 64}) b->Args({t, n_tok});
  }
}

BENCHMARK(BM_MatmulKernel)->Apply(matmul_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Linear)->Apply(linear_args)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace qwenrt

BENCHMARK_MAIN();
