#pragma once
// A model ready to run: its weights, the threads and kernels that run it. The entry point of the
// public C++ API for loading models; generation, tokenization and chat build on it.
#include "io/mapped_file.h"
#include "model/exec_context.h"
#include "model/model.h"
#include "threading/thread_pool.h"

#include <memory>
#include <string>

namespace qwenrt {

struct RuntimeOptions {
  int n_threads = 0;  // 0: one per available core
  LoadMode load_mode = LoadMode::Auto;  // weights mapped, or copied into huge-page memory
};

class Runtime {
 public:
  // PATH: a Hugging Face model directory or a GGUF file.
  static std::unique_ptr<Runtime> load(const std::string& path, const RuntimeOptions& options = {});
  // Random weights of a real shape (see `qwenrt bench --synthetic`).
  static std::unique_ptr<Runtime> synthetic(const std::string& preset, DType dtype, int layers, uint64_t seed,
                                            const RuntimeOptions& options = {});

  const Model& model() const { return *model_; }
  const ExecContext& context() const { return ctx_; }
  ThreadPool& pool() { return *pool_; }
  void set_tracer(Tracer* tracer) { ctx_.tracer = tracer; }

 private:
  explicit Runtime(const RuntimeOptions& options);
  std::unique_ptr<ThreadPool> pool_;
  ExecContext ctx_;
  std::unique_ptr<Model> model_;
};

}  // namespace qwenrt
