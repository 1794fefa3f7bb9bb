#include "text/string_index.h"

namespace qwenrt::text {

uint64_t StringIndex::hash(std::string_view s) {
  uint64_t h = 0x84222325cbf29ce4ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001B3ull;
  return h ^ (h >> 32);
}

void StringIndex::reserve(size_t n) {
  entries_.reserve(n);
  size_t capacity = 16;
  while (capacity * 5 < n * 8) capacity *= 2;  // load factor at most 5/8
  if (capacity > table_.size()) rehash(capacity);
}

void StringIndex::rehash(size_t capacity) {
  table_.assign(capacity, -1);
  const size_t mask = capacity - 1;
  for (size_t e = 0; e < entries_.size(); ++e) {
    size_t i = hash(key(entries_[e])) & mask;
    while (table_[i] >= 0) i = (i + 1) & mask;
    table_[i] = static_cast<int32_t>(e);
  }
}

bool StringIndex::insert(std::string_view s, int32_t id) {
  if ((count_ + 1) * 8 > table_.size() * 5) rehash(table_.empty() ? 16 : table_.size() * 2);
  const size_t mask = table_.size() - 1;
  size_t i = hash(s) & mask;
  for (; table_[i] >= 0; i = (i + 1) & mask) {
    if (key(entries_[static_cast<size_t>(table_[i])]) == s) return false;
  }
  entries_.push_back({static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(s.size()), id});
  arena_.append(s);
  table_[i] = static_cast<int32_t>(entries_.size() - 1);
  ++count_;
  return true;
}

std::optional<int32_t> StringIndex::find(std::string_view s) const {
  if (table_.empty()) return std::nullopt;
  const size_t mask = table_.size() - 1;
  for (size_t i = hash(s) & mask; table_[i] >= 0; i = (i + 1) & mask) {
    const Entry& e = entries_[static_cast<size_t>(table_[i])];
    if (e.length == s.size() && key(e) == s) return e.id;
  }
  return std::nullopt;
}

}  // namespace qwenrt::text
