#pragma once
// SHA-256 (FIPS 180-4), for checking downloads against the hub's published hashes.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace qwenrt {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex_digest();  // lower-case hex; ends the computation

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

// The hex SHA-256 of a file's contents; throws Error naming the path.
std::string sha256_file(const std::string& path);

}  // namespace qwenrt
