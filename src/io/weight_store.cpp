#include "io/weight_store.h"

#include "base/error.h"

#include <cstring>

namespace qwenrt {
namespace {

size_t element_alignment(DType t) {
  switch (t) {
    case DType::F32:
      return 4;
    case DType::F16:
    case DType::BF16:
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
      return 2;  // half-float fields
  }
  return 1;
}

}  // namespace

StoredWeight& WeightStore::insert(const std::string& name, Weight weight) {
  if (index_.count(name)) fail("tensor '{}' is defined twice", name);
  index_.emplace(name, tensors_.size());
  tensors_.push_back({name, std::move(weight), std::nullopt});
  return tensors_.back();
}

const Weight& WeightStore::add(const std::string& name, Weight weight, std::shared_ptr<const void> owner) {
  for (TensorView& part : weight.parts) {
    if (reinterpret_cast<uintptr_t>(part.data) % element_alignment(part.dtype) == 0) continue;
    AlignedBuffer copy(part.nbytes());
    std::memcpy(copy.data(), part.data, part.nbytes());
    part.data = copy.data();
    owned_.push_back(std::move(copy));
  }
  if (owner && (owners_.empty() || owners_.back() != owner)) owners_.push_back(std::move(owner));
  return insert(name, std::move(weight)).weight;
}

const Weight& WeightStore::add_owned(const std::string& name, DType dtype, const Shape& shape, AlignedBuffer buffer) {
  const TensorView v{dtype, shape, buffer.data()};
  QW_CHECK(buffer.size() >= v.nbytes());
  owned_.push_back(std::move(buffer));
  return insert(name, Weight::of(v)).weight;
}

const Weight& WeightStore::add_owned(const std::string& name, AlignedBuffer buffer, Weight weight) {
  for (const TensorView& part : weight.parts) {
    QW_CHECK(part.data >= buffer.data() && part.data + part.nbytes() <= buffer.data() + buffer.size());
  }
  owned_.push_back(std::move(buffer));
  return insert(name, std::move(weight)).weight;
}

std::byte* WeightStore::add_uninitialized(const std::string& name, DType dtype, const Shape& shape) {
  AlignedBuffer buffer(TensorView{dtype, shape, nullptr}.nbytes());
  std::byte* data = buffer.data();
  add_owned(name, dtype, shape, std::move(buffer));
  return data;
}

void WeightStore::set_export_permutation(const std::string& name, ExportPermutation permutation) {
  auto it = index_.find(name);
  QW_CHECK(it != index_.end());
  tensors_[it->second].export_permutation = std::move(permutation);
}

const Weight* WeightStore::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second].weight;
}

size_t WeightStore::total_bytes() const {
  size_t n = 0;
  for (const auto& t : tensors_) n += t.weight.nbytes();
  return n;
}

size_t WeightStore::owned_bytes() const {
  size_t n = 0;
  for (const auto& b : owned_) n += b.size();
  return n;
}

}  // namespace qwenrt
