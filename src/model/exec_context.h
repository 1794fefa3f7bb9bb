#pragma once
// What a forward pass runs on: the thread pool, the kernel table for this CPU, and an optional
// tracer that receives every named activation (bring-up is a layer-by-layer diff against a
// reference: `qwenrt logits --dump DIR` writes them all).
#include "kernels/kernels.h"
#include "threading/thread_pool.h"

#include <cstdint>
#include <string_view>

namespace qwenrt {

class Tracer {
 public:
  virtual ~Tracer() = default;
  // `layer` is -1 for tensors outside the decoder layers. Data is [rows x cols] row-major.
  virtual void tensor(std::string_view name, int layer, const float* data, int64_t rows, int64_t cols) = 0;
};

struct ExecContext {
  ThreadPool* pool = nullptr;
  const kernels::KernelTable* kernels = nullptr;
  Tracer* tracer = nullptr;

  void trace(std::string_view name, int layer, const float* data, int64_t rows, int64_t cols) const {
    if (tracer) tracer->tensor(name, layer, data, rows, cols);
  }
};

}  // namespace qwenrt
