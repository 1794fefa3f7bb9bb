#include "model/weight_binder.h"

#include "base/error.h"
#include "kernels/kernels.h"
#include "kernels/row_groups.h"
#include "tensor/quant.h"
#include "threading/thread_pool.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace qwenrt {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

bool row_groups_enabled() {
  const char* env = std::getenv("QWENRT_ROW_GROUPS");
  return !env || std::strcmp(env, "0") != 0;
}

}  // namespace

WeightBinder::WeightBinder(std::shared_ptr<const ModelFiles> files, std::string hf_prefix)
    : files_(std::move(files)), hf_prefix_(std::move(hf_prefix)), origin_(files_->path()) {
  layer_prefix_ = [p = hf_prefix_](int il) { return p + "layers." + std::to_string(il) + "."; };
  // Copied files are this process's own memory (read-only only by type); mapped ones are not.
  row_groups_ = files_->load_mode() == LoadMode::Copy && row_groups_enabled();
}

WeightBinder::WeightBinder(DType dtype, uint64_t seed, ThreadPool* pool)
    : origin_("synthetic"), synthetic_dtype_(dtype), seed_(seed), pool_(pool) {
  layer_prefix_ = [](int il) { return "layers." + std::to_string(il) + "."; };
  row_groups_ = row_groups_enabled();
}

Weight WeightBinder::in_row_groups(Weight w) {
  if (!row_groups_ || w.shape.rank < 2 || w.shape[w.shape.rank - 2] % kernels::kRowGroup != 0) return w;
  if (!kernels::kernel_table().matmul[static_cast<int>(w.dtype)].groups) return w;
  for (const TensorView& part : w.parts) {
    if (part.rows() % kernels::kRowGroup != 0 || part.row_groups) return w;
  }
  std::vector<std::byte> scratch(w.row_bytes() * kernels::kRowGroup);
  for (TensorView& part : w.parts) {
    // A file tensor bound a second time is in row groups already.
    if (grouped_.insert(part.data).second) {
      kernels::to_row_groups(w.dtype, const_cast<std::byte*>(part.data), part.rows(), part.cols(), scratch.data());
    }
    part.row_groups = true;
  }
  return w;
}

std::string WeightBinder::hf_name(const std::string& canonical) const {
  if (hf_override_) {
    if (auto n = hf_override_(canonical)) return *n;
  }
  if (auto n = hf_tensor_name(canonical, hf_prefix_, layer_prefix_)) return *n;
  return canonical;
}

void WeightBinder::fail_missing(const std::string& canonical, const std::string& source_name) const {
  fail("{}: missing tensor '{}'{}", origin_, source_name, source_name != canonical ? " (" + canonical + ")" : std::string());
}

const FileTensor* WeightBinder::find_source(const std::string& file_name) {
  const FileTensor* t = files_->find(file_name);
  if (t) {
    used_.insert(file_name);
    if (!t->supported) fail("{}: tensor '{}' has dtype {}, which qwenrt cannot compute with", origin_, file_name, t->dtype_name);
  }
  return t;
}

bool WeightBinder::has_source(const std::string& file_name) const { return files_ && files_->find(file_name); }

void WeightBinder::check_shape(const FileTensor& t, const Shape& shape) const {
  if (!(t.view.shape == shape)) {
    fail("{}: tensor '{}' has shape {}, expected {}", origin_, t.name, t.view.shape.str(), shape.str());
  }
}

Weight WeightBinder::random_matrix(const std::string& name, const Shape& shape, MatrixUse use) {
  // Uniform in [-a, a] with a = sqrt(3 / fan_in): unit-variance inputs give unit-variance outputs.
  const Weight w = Weight::of(TensorView{synthetic_dtype_, shape, nullptr});
  AlignedBuffer buffer(w.nbytes());
  std::byte* data = buffer.data();
  const int64_t cols = shape.cols();
  const float a = std::sqrt(3.0f / static_cast<float>(cols));
  const uint64_t base = seed_ ^ hash_name(name);
  auto fill = [&](int64_t r0, int64_t r1, int) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      uint64_t state = base + static_cast<uint64_t>(r) * 0x632be59bd9b4e019ull;
      for (int64_t c = 0; c < cols; ++c) {
        const double u = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;  // [0, 1)
        row[static_cast<size_t>(c)] = static_cast<float>((2.0 * u - 1.0) * a);
      }
      quantize_row(w.dtype, row.data(), data + static_cast<size_t>(r) * w.row_bytes(), cols);
    }
  };
  if (pool_) pool_->parallel_for(shape.rows(), 64, fill);
  else fill(0, shape.rows(), 0);
  Weight filled = Weight::of(TensorView{synthetic_dtype_, shape, data});
  if (use == MatrixUse::Multiply) filled = in_row_groups(std::move(filled));
  return store_->add_owned(name, std::move(buffer), std::move(filled));
}

Weight WeightBinder::source_matrix(const std::string& file_name, const Shape& shape) {
  const FileTensor* t = find_source(file_name);
  if (!t) fail("{}: missing tensor '{}'", origin_, file_name);
  check_shape(*t, shape);
  return Weight::of(t->view);
}

const Weight& WeightBinder::add(const std::string& name, Weight weight) { return store_->add(name, std::move(weight), files_); }

Weight WeightBinder::matrix(const std::string& name, const Shape& shape, const std::string& hf_name_override, MatrixUse use) {
  if (synthetic()) return random_matrix(name, shape, use);
  const std::string source_name = !from_hf() ? name : hf_name_override.empty() ? hf_name(name) : hf_name_override;
  const FileTensor* t = find_source(source_name);
  if (!t) fail_missing(name, source_name);
  check_shape(*t, shape);
  const Weight w = Weight::of(t->view);
  return add(name, use == MatrixUse::Multiply ? in_row_groups(w) : w);
}

std::optional<Weight> WeightBinder::optional_matrix(const std::string& name, const Shape& shape, bool synthesize) {
  if (synthetic()) {
    if (!synthesize) return std::nullopt;
    return random_matrix(name, shape, MatrixUse::Multiply);
  }
  const std::string source_name = from_hf() ? hf_name(name) : name;
  const FileTensor* t = find_source(source_name);
  if (!t) return std::nullopt;
  check_shape(*t, shape);
  return add(name, in_row_groups(Weight::of(t->view)));
}

const float* WeightBinder::vector(const std::string& name, int64_t n, const std::string& hf_name_override,
                                  const std::function<float(float)>& hf_transform, float synthetic_value) {
  float* out = reinterpret_cast<float*>(store_->add_uninitialized(name, DType::F32, Shape{n}));
  if (synthetic()) {
    for (int64_t i = 0; i < n; ++i) out[i] = synthetic_value;
    return out;
  }
  const std::string source_name = !from_hf() ? name : hf_name_override.empty() ? hf_name(name) : hf_name_override;
  const FileTensor* t = find_source(source_name);
  if (!t) fail_missing(name, source_name);
  if (t->view.numel() != n || t->view.shape.rank > 2 || (t->view.shape.rank == 2 && t->view.shape[0] != 1)) {
    fail("{}: tensor '{}' has shape {}, expected [{}]", origin_, source_name, t->view.shape.str(), n);
  }
  dequantize_row(t->view.dtype, t->view.data, out, n);
  if (hf_transform && from_hf()) {
    for (int64_t i = 0; i < n; ++i) out[i] = hf_transform(out[i]);
  }
  return out;
}

const float* WeightBinder::f32_matrix(const std::string& name, const Shape& shape, const std::string& hf_name_override,
                                      const Shape& hf_shape) {
  float* out = reinterpret_cast<float*>(store_->add_uninitialized(name, DType::F32, shape));
  const int64_t n = shape.numel();
  if (synthetic()) {
    uint64_t state = seed_ ^ hash_name(name);
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53 - 0.5);
    return out;
  }
  const std::string source_name = from_hf() ? hf_name_override : name;
  const FileTensor* t = find_source(source_name);
  if (!t) fail_missing(name, source_name);
  check_shape(*t, from_hf() ? hf_shape : shape);
  for (int64_t r = 0; r < t->view.rows(); ++r) {
    dequantize_row(t->view.dtype, t->view.row(r), out + r * t->view.cols(), t->view.cols());
  }
  return out;
}

const float* WeightBinder::norm(const std::string& name, int64_t n, NormForm form) {
  if (synthetic()) return vector(name, n, "", nullptr, 1.0f);
  if (form == NormForm::ZeroCentred) return vector(name, n, "", [](float w) { return 1.0f + w; });
  return vector(name, n);
}

ExpertWeights WeightBinder::experts(int il, int64_t E, int64_t n_ff, int64_t n_embd) {
  const std::string blk = "blk." + std::to_string(il) + ".";
  const Shape up_shape{E, n_ff, n_embd}, down_shape{E, n_embd, n_ff};
  ExpertWeights x;
  x.n_expert = E;
  if (!from_hf()) {
    x.gate = matrix(blk + "ffn_gate_exps.weight", up_shape);
    x.up = matrix(blk + "ffn_up_exps.weight", up_shape);
    x.down = matrix(blk + "ffn_down_exps.weight", down_shape);
    return x;
  }
  const std::string lp = layer_prefix(il) + "mlp.experts.";
  if (has_source(lp + "0.gate_proj.weight")) {  // one tensor per expert (Qwen3-MoE, Qwen3-Next)
    std::vector<Weight> gate, up, down;
    for (int64_t e = 0; e < E; ++e) {
      const std::string p = lp + std::to_string(e) + ".";
      gate.push_back(source_matrix(p + "gate_proj.weight", {n_ff, n_embd}));
      up.push_back(source_matrix(p + "up_proj.weight", {n_ff, n_embd}));
      down.push_back(source_matrix(p + "down_proj.weight", {n_embd, n_ff}));
    }
    x.gate = add(blk + "ffn_gate_exps.weight", Weight::concat(gate, up_shape));
    x.up = add(blk + "ffn_up_exps.weight", Weight::concat(up, up_shape));
    x.down = add(blk + "ffn_down_exps.weight", Weight::concat(down, down_shape));
    return x;
  }
  // Fused (Qwen3.5-MoE, newer transformers): gate_up_proj [E, 2 n_ff, n_embd] with the gate rows
  // of each expert first, down_proj [E, n_embd, n_ff]; with or without a ".weight" suffix.
  auto fused = [&](const std::string& base) {
    return has_source(lp + base + ".weight") ? lp + base + ".weight" : lp + base;
  };
  const std::string gate_up_name = fused("gate_up_proj");
  if (!has_source(gate_up_name)) fail_missing(blk + "ffn_gate_exps.weight", lp + "0.gate_proj.weight");
  const Weight gate_up = source_matrix(gate_up_name, {E, 2 * n_ff, n_embd});
  std::vector<Weight> gate, up;
  for (int64_t e = 0; e < E; ++e) {
    gate.push_back(gate_up.rows_slice(e * 2 * n_ff, e * 2 * n_ff + n_ff));
    up.push_back(gate_up.rows_slice(e * 2 * n_ff + n_ff, (e + 1) * 2 * n_ff));
  }
  x.gate = add(blk + "ffn_gate_exps.weight", Weight::concat(gate, up_shape));
  x.up = add(blk + "ffn_up_exps.weight", Weight::concat(up, up_shape));
  x.down = add(blk + "ffn_down_exps.weight", source_matrix(fused("down_proj"), down_shape));
  return x;
}

std::optional<Shape> WeightBinder::source_shape(const std::string& canonical) const {
  if (!files_) return std::nullopt;
  const FileTensor* t = files_->find(from_hf() ? hf_name(canonical) : canonical);
  if (!t) return std::nullopt;
  return t->view.shape;
}

void WeightBinder::ignore(const std::function<bool(const std::string&)>& predicate) {
  if (!files_) return;
  for (const auto& t : files_->tensors()) {
    if (predicate(t.name)) ignored_.insert(t.name);
  }
}

std::vector<std::string> WeightBinder::unused() const {
  std::vector<std::string> out;
  if (!files_) return out;
  for (const auto& t : files_->tensors()) {
    if (!used_.count(t.name) && !ignored_.count(t.name)) out.push_back(t.name);
  }
  return out;
}

}  // namespace qwenrt
