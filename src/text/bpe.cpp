#include "text/bpe.h"

#include <climits>
#include <atomic>
#include <queue>
#include <algorithm>
#include <cstring>

namespace qwenrt::text {
namespace {

uint64_t key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

size_t hash(uint64_t k) { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 20); }
constexpr size_t kArrayLimit = 256;
constexpr size_t kFilterBits = size_t{1} << 22;
size_t filter_bit(uint64_t k) { return static_cast<size_t>((k * 0xD6E8FEB86659FD93ull) >> 42); }  // 22 bits

// Per-thread, direct-mapped cache of short piece -> tokens: no allocation, a fixed 320 KiB per
// thread. Keyed by the table's instance id, so threads never share state and a new table never
// sees an old one's entries.
struct PieceCache {
  static constexpr size_t kEntries = 4096;  // power of two
  static constexpr size_t kMaxPiece = 24;
  static constexpr size_t kMaxTokens = 12;
  struct Entry {
    uint64_t instance = 0;
    uint8_t length = 0;
    uint8_t n_tokens = 0;
    char bytes[kMaxPiece];
    int32_t tokens[kMaxTokens];
  };
  std::vector<Entry> entries = std::vector<Entry>(kEntries);
};

PieceCache& thread_cache() {
  thread_local PieceCache cache;
  return cache;
}

uint64_t piece_hash(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h ^ (h >> 29);
}

std::atomic<uint64_t> next_instance{1};

}  // namespace

Bpe::Bpe(const std::array<int32_t, 256>& byte_ids) : byte_ids_(byte_ids), instance_(next_instance++) {}

void Bpe::clear_thread_cache() {
  for (auto& e : thread_cache().entries) e.instance = 0;
}

void Bpe::reserve(size_t merges) {
  size_t capacity = 1024;
  while (capacity * 5 < merges * 8 + 8) capacity *= 2;  // load factor at most 5/8
  if (capacity > capacity_) grow(capacity);
}

void Bpe::grow(size_t capacity) {
  auto old = std::move(slots_);
  const size_t old_capacity = capacity_;
  slots_.reset(static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
  if (!slots_) throw std::bad_alloc();
  capacity_ = capacity;
  const size_t mask = capacity - 1;
  for (size_t k = 0; k < old_capacity; ++k) {
    const Slot& s = old[k];
    if (!s.key) continue;
    size_t i = hash(s.key - 1) & mask;
    while (slots_[i].key) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void Bpe::add_merge(int32_t left, int32_t right, int32_t merged) {
  if ((count_ + 1) * 8 > capacity_ * 5) grow(capacity_ ? capacity_ * 2 : 1024);  // load factor at most 5/8
  const uint64_t k = key(left, right);
  const size_t mask = capacity_ - 1;
  size_t i = hash(k) & mask;
  while (slots_[i].key) {
    if (slots_[i].key == k + 1) return;  // a pair listed twice keeps its first (lowest) rank
    i = (i + 1) & mask;
  }
  slots_[i] = {k + 1, static_cast<int32_t>(count_++), merged};
  if (filter_.empty()) filter_.assign(kFilterBits / 64, 0);
  filter_[filter_bit(k) / 64] |= uint64_t{1} << (filter_bit(k) % 64);
}

int32_t Bpe::rank_of(int32_t left, int32_t right, int32_t* merged) const {
  if (!capacity_) return INT32_MAX;
  const uint64_t k = key(left, right);
  const size_t bit = filter_bit(k);
  if (!(filter_[bit / 64] >> (bit % 64) & 1)) return INT32_MAX;
  const size_t mask = capacity_ - 1;
  for (size_t i = hash(k) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key == k + 1) {
      *merged = s.merged;
      return s.rank;
    }
    if (!s.key) return INT32_MAX;
  }
}

void Bpe::encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  if (piece.size() > PieceCache::kMaxPiece) {
    encode_uncached(piece, out);
    return;
  }
  PieceCache::Entry& e = thread_cache().entries[piece_hash(piece) & (PieceCache::kEntries - 1)];
  if (e.instance == instance_ && e.length == piece.size() && std::memcmp(e.bytes, piece.data(), piece.size()) == 0) {
    out.insert(out.end(), e.tokens, e.tokens + e.n_tokens);
    return;
  }
  const size_t start = out.size();
  encode_uncached(piece, out);
  const size_t n = out.size() - start;
  if (n <= PieceCache::kMaxTokens) {
    e.instance = instance_;
    e.length = static_cast<uint8_t>(piece.size());
    e.n_tokens = static_cast<uint8_t>(n);
    std::memcpy(e.bytes, piece.data(), piece.size());
    std::copy(out.begin() + static_cast<ptrdiff_t>(start), out.end(), e.tokens);
  }
}

void Bpe::encode_uncached(std::string_view piece, std::vector<int32_t>& out) const {
  const size_t n0 = piece.size();
  if (n0 > kArrayLimit) {
    encode_long(piece, out);
    return;
  }
  // Pieces up to a few hundred bytes (nearly all): symbols and the rank of each adjacent pair in
  // arrays; a merge updates only its neighbours' ranks.
  int32_t sym[kArrayLimit], rank[kArrayLimit], merged[kArrayLimit];
  size_t n = n0;
  for (size_t i = 0; i < n; ++i) sym[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
  for (size_t i = 0; i + 1 < n; ++i) rank[i] = rank_of(sym[i], sym[i + 1], &merged[i]);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (rank[i] < rank[best]) best = i;
    }
    if (rank[best] == INT32_MAX) break;
    sym[best] = merged[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      sym[i] = sym[i + 1];
      rank[i] = rank[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best > 0) rank[best - 1] = rank_of(sym[best - 1], sym[best], &merged[best - 1]);
    if (best + 1 < n) rank[best] = rank_of(sym[best], sym[best + 1], &merged[best]);
  }
  out.insert(out.end(), sym, sym + n);
}

// Long pieces: a doubly linked list of symbols and a min-heap of candidate merges keyed by
// (rank, position); stale heap entries are skipped when popped.
void Bpe::encode_long(std::string_view piece, std::vector<int32_t>& out) const {
  const size_t n = piece.size();
  std::vector<int32_t> sym(n), prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (size_t i = 0; i < n; ++i) {
    sym[i] = byte_ids_[static_cast<unsigned char>(piece[i])];
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  struct Cand {
    int32_t rank, pos, left, right, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int32_t i) {
    if (i < 0 || next[static_cast<size_t>(i)] < 0) return;
    const int32_t j = next[static_cast<size_t>(i)];
    int32_t m;
    const int32_t r = rank_of(sym[static_cast<size_t>(i)], sym[static_cast<size_t>(j)], &m);
    if (r != INT32_MAX) heap.push({r, i, sym[static_cast<size_t>(i)], sym[static_cast<size_t>(j)], m});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const auto i = static_cast<size_t>(c.pos);
    if (!alive[i] || next[i] < 0) continue;
    const auto j = static_cast<size_t>(next[i]);
    if (sym[i] != c.left || sym[j] != c.right) continue;  // stale
    sym[i] = c.merged;
    alive[j] = false;
    next[i] = next[j];
    if (next[j] >= 0) prev[static_cast<size_t>(next[j])] = static_cast<int32_t>(i);
    push(prev[i]);
    push(static_cast<int32_t>(i));
  }
  for (int32_t i = 0; i >= 0; i = next[static_cast<size_t>(i)]) out.push_back(sym[static_cast<size_t>(i)]);
}

}  // namespace qwenrt::text
