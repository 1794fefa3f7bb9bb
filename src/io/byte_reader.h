#pragma once
// Bounds-checked little-endian reads from untrusted bytes. Every read that would pass the end
// throws Error naming the file, the offset and what was being read.
#include "base/error.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace qwenrt {

class ByteReader {
 public:
  ByteReader(const std::byte* data, size_t size, std::string_view origin) : data_(data), size_(size), origin_(origin) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(std::string_view what) {
    const uint64_t n = read<uint64_t>(what);
    if (n > remaining()) {
      fail("{}: truncated at offset {}: {} claims {} bytes but only {} remain", origin_, pos_, what, n, remaining());
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

  void need(size_t n, std::string_view what) const {
    if (n > remaining()) {
      fail("{}: truncated at offset {}: reading {} needs {} bytes but only {} remain", origin_, pos_, what, n,
           remaining());
    }
  }

 private:
  const std::byte* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string origin_;
};

}  // namespace qwenrt
