#pragma once
// Uninitialised scratch arrays for a forward pass's intermediates (projections, FFN activations,
// quantized activation rows), reused across layers and steps. A 512-token prefill of a 0.6B model
// asks for tens of MiB per layer; fresh pages cost the kernel's page clearing and a value-initialised
// vector its zero fill (together about 5 % of the prefill profile). Each thread keeps the buffers
// it has released and hands them out again, smallest fit first. Contents are undefined: write
// before reading.
#include <cstddef>

#include "base/aligned_buffer.h"

namespace qwenrt {

class ScratchBytes {
 public:
  explicit ScratchBytes(size_t bytes);
  ~ScratchBytes();  // back to this thread's free list
  ScratchBytes(const ScratchBytes&) = delete;
  ScratchBytes& operator=(const ScratchBytes&) = delete;

  std::byte* data() { return buf_.data(); }
  size_t size() const { return bytes_; }

 private:
  AlignedBuffer buf_;  // at least bytes_ long
  size_t bytes_;
};

template <typename T>
class Scratch {
 public:
  explicit Scratch(size_t n) : bytes_(n * sizeof(T)), n_(n) {}
  T* data() { return reinterpret_cast<T*>(bytes_.data()); }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data()[i]; }

 private:
  ScratchBytes bytes_;
  size_t n_;
};

}  // namespace qwenrt
