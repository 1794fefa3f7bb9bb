#pragma once
// Writes GGUF v3 files the way llama.cpp's gguf-py writer lays them out: header, metadata in
// insertion order, tensor infos, then each tensor's data at a 32-byte aligned offset. Tensor
// bytes are produced one tensor at a time by a callback, so converting a large model never holds
// more than one converted tensor in memory. The file is written under a temporary name and
// renamed when complete.
#include "io/gguf.h"
#include "tensor/tensor_view.h"

#include <functional>
#include <string>
#include <vector>

namespace qwenrt {

class GgufWriter {
 public:
  using Producer = std::function<void(std::byte* out, size_t nbytes)>;

  // Sets or replaces a key (a replaced key keeps its position).
  void set(const std::string& key, GgufValue value);
  void erase(const std::string& key);
  const GgufValue* find(const std::string& key) const;

  // `shape` is row-major (outermost first); it is written in ggml's reversed order.
  void add_tensor(const std::string& name, DType dtype, const Shape& shape, Producer produce);

  void write(const std::string& path) const;

  size_t alignment() const { return alignment_; }

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    Shape shape;
    size_t nbytes;
    Producer produce;
  };
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
  size_t alignment_ = 32;
};

}  // namespace qwenrt
