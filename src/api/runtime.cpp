#include "api/runtime.h"

#include "base/log.h"
#include "base/timer.h"
#include "kernels/kernels.h"
#include "models/registry.h"

namespace qwenrt {

Runtime::Runtime(const RuntimeOptions& options) : pool_(std::make_unique<ThreadPool>(options.n_threads)) {
  ctx_.pool = pool_.get();
  ctx_.kernels = &kernels::kernel_table();
}

std::unique_ptr<Runtime> Runtime::load(const std::string& path, const RuntimeOptions& options) {
  std::unique_ptr<Runtime> rt(new Runtime(options));
  Timer timer;
  rt->model_ = load_model(path, options.load_mode);
  log_info("loaded {} ({}) in {:.3f} s; {} threads, {} kernels", path, rt->model_->info().arch, timer.seconds(),
           rt->pool_->size(), kernels::isa_name(rt->ctx_.kernels->isa));
  return rt;
}

std::unique_ptr<Runtime> Runtime::synthetic(const std::string& preset, DType dtype, int layers, uint64_t seed,
                                            const RuntimeOptions& options) {
  std::unique_ptr<Runtime> rt(new Runtime(options));
  rt->model_ = make_synthetic_model(preset, dtype, seed, rt->pool_.get(), layers);
  return rt;
}

}  // namespace qwenrt
