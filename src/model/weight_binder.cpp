#include "model/weight_binder.h"

#include "base/error.h"
#include "model/hf_names.h"
#include "tensor/quant.h"
#include "threading/thread_pool.h"

#include <cmath>
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

}  // namespace

WeightBinder::WeightBinder(std::shared_ptr<const ModelFiles> files, std::string hf_prefix)
    : files_(std::move(files)), hf_prefix_(std::move(hf_prefix)), origin_(files_->path()) {}

WeightBinder::WeightBinder(DType dtype, uint64_t seed, ThreadPool* pool)
    : origin_("synthetic"), synthetic_dtype_(dtype), seed_(seed), pool_(pool) {}

std::string WeightBinder::hf_name(const std::string& canonical) const {
  if (hf_override_) {
    if (auto n = hf_override_(canonical)) return *n;
  }
  if (auto n = hf_tensor_name(canonical, hf_prefix_)) return *n;
  return canonical;
}

void WeightBinder::fail_tensor(const std::string& source_name, const std::string& why) const {
  fail("{}: tensor '{}' {}", origin_, source_name, why);
}

const FileTensor* WeightBinder::find_source(const std::string& canonical, std::string* source_name) {
  *source_name = from_hf() ? hf_name(canonical) : canonical;
  const FileTensor* t = files_->find(*source_name);
  if (t) {
    used_.insert(*source_name);
    if (!t->supported) fail_tensor(*source_name, "has dtype " + t->dtype_name + ", which qwenrt cannot compute with");
  }
  return t;
}

TensorView WeightBinder::bind_matrix(const FileTensor& t, const std::string& canonical, const std::string& source_name,
                                     const Shape& shape) {
  if (!(t.view.shape == shape)) {
    fail_tensor(source_name, fmt::format("has shape {}, expected {}", t.view.shape.str(), shape.str()));
  }
  store_->add_view(canonical, t.view, files_);
  return *store_->find(canonical);
}

TensorView WeightBinder::random_matrix(const std::string& name, const Shape& shape) {
  // Uniform in [-a, a] with a = sqrt(3 / fan_in): unit-variance inputs give unit-variance outputs.
  std::byte* data = store_->add_uninitialized(name, synthetic_dtype_, shape);
  const TensorView view = *store_->find(name);
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
      quantize_row(view.dtype, row.data(), data + static_cast<size_t>(r) * view.row_bytes(), cols);
    }
  };
  if (pool_) pool_->parallel_for(shape.rows(), 64, fill);
  else fill(0, shape.rows(), 0);
  return view;
}

TensorView WeightBinder::matrix(const std::string& name, const Shape& shape) {
  if (synthetic()) return random_matrix(name, shape);
  std::string source_name;
  const FileTensor* t = find_source(name, &source_name);
  if (!t) {
    fail("{}: missing tensor '{}'{}", origin_, source_name, from_hf() ? " (" + name + ")" : std::string());
  }
  return bind_matrix(*t, name, source_name, shape);
}

std::optional<TensorView> WeightBinder::optional_matrix(const std::string& name, const Shape& shape, bool synthesize) {
  if (synthetic()) {
    if (!synthesize) return std::nullopt;
    return random_matrix(name, shape);
  }
  std::string source_name;
  const FileTensor* t = find_source(name, &source_name);
  if (!t) return std::nullopt;
  return bind_matrix(*t, name, source_name, shape);
}

const float* WeightBinder::norm(const std::string& name, int64_t n, NormForm form) {
  float* out = reinterpret_cast<float*>(store_->add_uninitialized(name, DType::F32, Shape{n}));
  if (synthetic()) {
    for (int64_t i = 0; i < n; ++i) out[i] = 1.0f;
    return out;
  }
  std::string source_name;
  const FileTensor* t = find_source(name, &source_name);
  if (!t) fail("{}: missing tensor '{}'{}", origin_, source_name, from_hf() ? " (" + name + ")" : std::string());
  if (t->view.numel() != n || t->view.shape.rank > 2 || (t->view.shape.rank == 2 && t->view.shape[0] != 1)) {
    fail_tensor(source_name, fmt::format("has shape {}, expected [{}]", t->view.shape.str(), n));
  }
  dequantize_row(t->view.dtype, t->view.data, out, n);
  if (form == NormForm::ZeroCentred && from_hf()) {
    for (int64_t i = 0; i < n; ++i) out[i] += 1.0f;
  }
  return out;
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
