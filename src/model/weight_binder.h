#pragma once
// Binds a model's weights by canonical name and shape, from whichever source it has:
//  - a GGUF file: the canonical names and layout are the file's own (zero-copy views);
//  - a Hugging Face directory: names translated (hf_names.h), experts stacked and fused tensors
//    split without copying (Weight parts), 1-D tensors widened to f32, zero-centred norms offset
//    by one, so the forward pass sees one canonical form;
//  - synthetic: random weights of the requested dtype (benchmarks of real shapes).
// Every failure names the file, the tensor, and what was expected versus found. The binding
// code of an architecture is its tensor table; the tensors bound form the model's WeightStore.
#include "io/model_files.h"
#include "io/weight_store.h"
#include "model/hf_names.h"

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

// Stacked expert weights: gate/up [E, n_ff, n_embd], down [E, n_embd, n_ff].
struct ExpertWeights {
  Weight gate, up, down;
  int64_t n_expert = 0;
  Weight gate_of(int64_t e) const { return gate.rows_slice(e * gate.shape[1], (e + 1) * gate.shape[1]); }
  Weight up_of(int64_t e) const { return up.rows_slice(e * up.shape[1], (e + 1) * up.shape[1]); }
  Weight down_of(int64_t e) const { return down.rows_slice(e * down.shape[1], (e + 1) * down.shape[1]); }
};

// What the forward pass does with a matrix: only multiplies with it (the binder may then store it
// in row groups for the kernels, kernels/row_groups.h), or also reads single rows (an embedding).
enum class MatrixUse { Multiply, LookUp };

class WeightBinder {
 public:
  // `hf_prefix`: where the text model's tensors live in HF files ("model." or "model.language_model.").
  WeightBinder(std::shared_ptr<const ModelFiles> files, std::string hf_prefix);
  // Random weights; matrices in `dtype`, norms 1.
  WeightBinder(DType dtype, uint64_t seed, ThreadPool* pool);

  bool synthetic() const { return !files_; }
  bool from_hf() const { return files_ && files_->format() == ModelFormat::HuggingFace; }
  const std::string& origin() const { return origin_; }
  const std::string& hf_prefix() const { return hf_prefix_; }

  // A matrix (or stacked matrices) in its file dtype; `hf_name` overrides the mapped HF name.
  // Multiply: when the process owns the bytes (copied files, synthetic weights), the kernel
  // table reads row groups of the dtype and every stacked matrix has a multiple of 16 rows, the
  // bytes are rearranged into row groups in place (QWENRT_ROW_GROUPS=0 turns this off).
  Weight matrix(const std::string& name, const Shape& shape, const std::string& hf_name = "",
                MatrixUse use = MatrixUse::Multiply);
  // A matrix that may be absent (tied output head); synthetic sources create it iff `synthesize`.
  std::optional<Weight> optional_matrix(const std::string& name, const Shape& shape, bool synthesize);
  // A 1-D weight as f32 in canonical form.
  const float* norm(const std::string& name, int64_t n, NormForm form = NormForm::Plain);
  // A 1-D f32 weight; for HF sources read from `hf_name` (default: the mapped name) through
  // `hf_transform` (e.g. A_log -> -exp(A_log)); synthetic values are `synthetic_value`.
  const float* vector(const std::string& name, int64_t n, const std::string& hf_name = "",
                      const std::function<float(float)>& hf_transform = nullptr, float synthetic_value = 0.0f);
  // A small matrix as f32 (conv kernels); HF sources read `hf_name` of shape `hf_shape` (same
  // element count). Synthetic values are uniform in [-0.5, 0.5].
  const float* f32_matrix(const std::string& name, const Shape& shape, const std::string& hf_name, const Shape& hf_shape);
  // Stacked experts of layer `il` (canonical blk.il.ffn_{gate,up,down}_exps.weight). HF sources
  // may store them per expert or fused (gate_up_proj [E, 2 n_ff, n_embd], down_proj [E, n_embd, n_ff]).
  ExpertWeights experts(int il, int64_t n_expert, int64_t n_ff, int64_t n_embd);

  // A source tensor by its file name, shape-checked (for loaders that regroup HF tensors).
  Weight source_matrix(const std::string& file_name, const Shape& shape);
  bool has_source(const std::string& file_name) const;
  // Registers a weight the loader assembled (e.g. from source_matrix slices) under `name`.
  const Weight& add(const std::string& name, Weight weight);

  // Shape of a tensor in the source (nullopt when absent or synthetic).
  std::optional<Shape> source_shape(const std::string& canonical) const;

  // HF name of a canonical name; families extend the shared table through overrides.
  std::string hf_name(const std::string& canonical) const;
  void set_hf_override(std::function<std::optional<std::string>(const std::string&)> fn) { hf_override_ = std::move(fn); }
  void set_layer_prefix(LayerPrefix fn) { layer_prefix_ = std::move(fn); }
  std::string layer_prefix(int il) const { return layer_prefix_(il); }

  // Source tensors never bound, by file name (tensors a loader knowingly skips are listed first
  // with ignore()).
  void ignore(const std::function<bool(const std::string&)>& predicate);
  std::vector<std::string> unused() const;

  std::shared_ptr<WeightStore> store() const { return store_; }

 private:
  const FileTensor* find_source(const std::string& file_name);
  [[noreturn]] void fail_missing(const std::string& canonical, const std::string& source_name) const;
  void check_shape(const FileTensor& t, const Shape& shape) const;
  Weight random_matrix(const std::string& name, const Shape& shape, MatrixUse use);
  // `w` (bytes this process owns) in row groups where that is allowed and pays; as it is otherwise.
  Weight in_row_groups(Weight w);

  std::shared_ptr<const ModelFiles> files_;
  std::string hf_prefix_;
  std::string origin_;
  LayerPrefix layer_prefix_;
  std::function<std::optional<std::string>(const std::string&)> hf_override_;
  std::set<std::string> used_;
  std::set<std::string> ignored_;
  std::shared_ptr<WeightStore> store_ = std::make_shared<WeightStore>();
  DType synthetic_dtype_ = DType::BF16;
  uint64_t seed_ = 0;
  ThreadPool* pool_ = nullptr;
  bool row_groups_ = false;  // whether in_row_groups may rearrange bytes
  std::set<const std::byte*> grouped_;  // the parts it rearranged
};

}  // namespace qwenrt
