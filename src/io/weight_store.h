#pragma once
// The one in-memory model description every architecture computes from, whatever file it came
// from: tensors under their canonical names (llama.cpp's GGUF names: "blk.0.attn_q.weight") in
// the canonical layout (GGUF's: norms already offset, experts stacked, ...). Most tensors are
// views into memory-mapped files; those a loader had to transform (or that were misaligned)
// live in owned buffers, repacked once at load.
#include "base/aligned_buffer.h"
#include "tensor/tensor_view.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qwenrt {

class WeightStore {
 public:
  // A view into memory kept alive by `owner` (e.g. the ModelFiles). Misaligned data is copied.
  void add_view(const std::string& name, const TensorView& view, std::shared_ptr<const void> owner);
  // A tensor the loader computed; returns its view.
  TensorView add_owned(const std::string& name, DType dtype, const Shape& shape, AlignedBuffer buffer);
  // Allocates an owned tensor for the caller to fill.
  std::byte* add_uninitialized(const std::string& name, DType dtype, const Shape& shape);

  const TensorView* find(const std::string& name) const;
  // In insertion order (which GGUF writing keeps).
  const std::vector<std::pair<std::string, TensorView>>& tensors() const { return tensors_; }

  size_t total_bytes() const;
  size_t owned_bytes() const;

 private:
  void insert(const std::string& name, const TensorView& view);
  std::vector<std::pair<std::string, TensorView>> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<AlignedBuffer> owned_;
  std::vector<std::shared_ptr<const void>> owners_;
};

}  // namespace qwenrt
