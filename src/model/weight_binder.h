#pragma once
// Binds a model's weights by canonical name and shape, from whichever source it has:
//  - a GGUF file: the canonical names and layout are the file's own (zero-copy views);
//  - a Hugging Face directory: names translated (hf_names.h), 1-D tensors widened to f32,
//    zero-centred norms offset by one, so the forward pass sees one canonical form;
//  - synthetic: random weights of the requested dtype (benchmarks of real shapes).
// Every failure names the file, the tensor, and what was expected versus found. The tensors
// bound form the model's WeightStore; the binding code of an architecture is its tensor table.
#include "io/model_files.h"
#include "io/weight_store.h"
#include "tensor/tensor_view.h"

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace qwenrt {

class ThreadPool;

enum class NormForm {
  Plain,        // y = w * x_hat, stored as w everywhere
  ZeroCentred,  // y = (1 + w) * x_hat; HF stores w, GGUF (canonical) stores 1 + w
};

class WeightBinder {
 public:
  // `hf_prefix`: where the text model's tensors live in HF files ("model." or "model.language_model.").
  WeightBinder(std::shared_ptr<const ModelFiles> files, std::string hf_prefix);
  // Random weights; matrices in `dtype`, norms 1.
  WeightBinder(DType dtype, uint64_t seed, ThreadPool* pool);

  bool synthetic() const { return !files_; }
  bool from_hf() const { return files_ && files_->format() == ModelFormat::HuggingFace; }
  const std::string& origin() const { return origin_; }

  // A matrix (or stacked matrices) in its file dtype.
  TensorView matrix(const std::string& name, const Shape& shape);
  // A matrix that may be absent (tied output head); synthetic sources create it iff `synthesize`.
  std::optional<TensorView> optional_matrix(const std::string& name, const Shape& shape, bool synthesize);
  // A 1-D weight as f32 in canonical form.
  const float* norm(const std::string& name, int64_t n, NormForm form = NormForm::Plain);

  // Shape of a tensor in the source (nullopt when absent or synthetic).
  std::optional<Shape> source_shape(const std::string& canonical) const;

  // HF name of a canonical name (the shared table unless overridden by set_hf_name).
  std::string hf_name(const std::string& canonical) const;
  void set_hf_name_override(std::function<std::optional<std::string>(const std::string&)> fn) { hf_override_ = std::move(fn); }

  // Source tensors never bound, by file name (tensors a loader knowingly skips are listed first
  // with ignore()).
  void ignore(const std::function<bool(const std::string&)>& predicate);
  std::vector<std::string> unused() const;

  std::shared_ptr<WeightStore> store() const { return store_; }

 private:
  const FileTensor* find_source(const std::string& canonical, std::string* source_name);
  [[noreturn]] void fail_tensor(const std::string& source_name, const std::string& why) const;
  TensorView bind_matrix(const FileTensor& t, const std::string& canonical, const std::string& source_name, const Shape& shape);
  TensorView random_matrix(const std::string& name, const Shape& shape);

  std::shared_ptr<const ModelFiles> files_;
  std::string hf_prefix_;
  std::string origin_;
  std::function<std::optional<std::string>(const std::string&)> hf_override_;
  std::set<std::string> used_;
  std::set<std::string> ignored_;
  std::shared_ptr<WeightStore> store_ = std::make_shared<WeightStore>();
  DType synthetic_dtype_ = DType::BF16;
  uint64_t seed_ = 0;
  ThreadPool* pool_ = nullptr;
};

}  // namespace qwenrt
