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
      return 2;
  }
  return 1;
}

}  // namespace

void WeightStore::insert(const std::string& name, const TensorView& view) {
  if (index_.count(name)) fail("tensor '{}' is defined twice", name);
  index_.emplace(name, tensors_.size());
  tensors_.emplace_back(name, view);
}

void WeightStore::add_view(const std::string& name, const TensorView& view, std::shared_ptr<const void> owner) {
  if (reinterpret_cast<uintptr_t>(view.data) % element_alignment(view.dtype) != 0) {
    AlignedBuffer copy(view.nbytes());
    std::memcpy(copy.data(), view.data, view.nbytes());
    add_owned(name, view.dtype, view.shape, std::move(copy));
    return;
  }
  insert(name, view);
  if (owner && (owners_.empty() || owners_.back() != owner)) owners_.push_back(std::move(owner));
}

TensorView WeightStore::add_owned(const std::string& name, DType dtype, const Shape& shape, AlignedBuffer buffer) {
  TensorView v{dtype, shape, buffer.data()};
  QW_CHECK(buffer.size() >= v.nbytes());
  owned_.push_back(std::move(buffer));
  insert(name, v);
  return v;
}

std::byte* WeightStore::add_uninitialized(const std::string& name, DType dtype, const Shape& shape) {
  TensorView v{dtype, shape, nullptr};
  AlignedBuffer buffer(v.nbytes());
  std::byte* data = buffer.data();
  add_owned(name, dtype, shape, std::move(buffer));
  return data;
}

const TensorView* WeightStore::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second].second;
}

size_t WeightStore::total_bytes() const {
  size_t n = 0;
  for (const auto& [name, v] : tensors_) n += v.nbytes();
  return n;
}

size_t WeightStore::owned_bytes() const {
  size_t n = 0;
  for (const auto& b : owned_) n += b.size();
  return n;
}

}  // namespace qwenrt
