#pragma once
// Owned, 64-byte aligned, uninitialised byte buffer (weights repacked at load, scratch space).
#include <cstddef>
#include <cstdlib>
#include <new>

#include <sys/mman.h>
#include <utility>

namespace qwenrt {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kHugeThreshold = size_t{4} << 20;

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes) { resize(bytes); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~AlignedBuffer() { std::free(data_); }

  // Discards the contents when the size changes.
  void resize(size_t bytes) {
    if (bytes == size_) return;
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    if (bytes == 0) return;
    // Large buffers (weights, caches) go on 2 MiB pages where the kernel allows: decode streams
    // them at memory bandwidth, and 4 KiB pages cost a TLB miss every 4 KiB.
    const size_t align = bytes >= kHugeThreshold ? kHugePage : kAlignment;
    const size_t rounded = (bytes + align - 1) / align * align;
    data_ = static_cast<std::byte*>(std::aligned_alloc(align, rounded));
    if (!data_) throw std::bad_alloc();
    if (align == kHugePage) ::madvise(data_, rounded, MADV_HUGEPAGE);
    size_ = bytes;
  }

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  template <typename T>
  T* as() { return reinterpret_cast<T*>(data_); }
  template <typename T>
  const T* as() const { return reinterpret_cast<const T*>(data_); }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qwenrt
