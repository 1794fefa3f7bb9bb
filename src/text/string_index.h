#pragma once
// A read-mostly map from strings to ids: the strings live in one arena and an open-addressing
// table of ids indexes them. Loading a 151k-token vocabulary and resolving its 151k merges is
// several times faster than with std::unordered_map<std::string, int>.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt::text {

class StringIndex {
 public:
  void reserve(size_t n);
  // Adds `s` with `id` (ids need not be dense); returns false when `s` is already present.
  bool insert(std::string_view s, int32_t id);
  std::optional<int32_t> find(std::string_view s) const;
  size_t size() const { return count_; }

 private:
  struct Entry {
    uint32_t offset, length;
    int32_t id;
  };
  static uint64_t hash(std::string_view s);
  void rehash(size_t capacity);
  std::string_view key(const Entry& e) const { return std::string_view(arena_).substr(e.offset, e.length); }

  std::string arena_;
  std::vector<Entry> entries_;
  std::vector<int32_t> table_;  // index into entries_, -1 = empty
  size_t count_ = 0;
};

}  // namespace qwenrt::text
