#pragma once
// Byte-level BPE: a piece's bytes start as one symbol each and the adjacent pair with the lowest
// merge rank is merged until no ranked pair remains (leftmost first among equal ranks), as
// Hugging Face tokenizers' BPE model does without dropout.
#include <array>
#include <cstdint>
#include <string_view>
#include <cstdlib>
#include <memory>
#include <vector>

namespace qwenrt::text {

class Bpe {
 public:
  // byte_ids[b]: the token of the single byte b. Merges are added in rank order.
  explicit Bpe(const std::array<int32_t, 256>& byte_ids);
  void reserve(size_t merges);
  void add_merge(int32_t left, int32_t right, int32_t merged);
  size_t merge_count() const { return count_; }

  // Appends the token ids of one pre-tokenized piece (raw bytes). Results for short pieces are
  // cached per thread (words recur: " the", "\n\n"), as Hugging Face's BPE caches them.
  void encode(std::string_view piece, std::vector<int32_t>& out) const;
  // Empties this thread's cache (benchmarks measuring a cold start).
  static void clear_thread_cache();

 private:
  struct Slot {
    uint64_t key;  // pair key + 1; 0 = empty, so a zeroed allocation is an empty table
    int32_t rank;
    int32_t merged;
  };
  // Rank of merging (left, right), or INT32_MAX; *merged receives the result.
  int32_t rank_of(int32_t left, int32_t right, int32_t* merged) const;
  void grow(size_t capacity);
  void encode_uncached(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_long(std::string_view piece, std::vector<int32_t>& out) const;

  std::array<int32_t, 256> byte_ids_;
  // Open addressing with linear probing: the merge table is hit for every adjacent pair, and
  // a node-based map's pointer chasing dominated encoding time.
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<Slot[], Free> slots_;  // calloc'd: the OS hands out zero pages lazily
  size_t capacity_ = 0;
  // One bit per hash of every merge pair (512 KiB, cache resident): most adjacent pairs are not
  // merges, and the filter answers those without touching the large table.
  std::vector<uint64_t> filter_;
  size_t count_ = 0;
  uint64_t instance_;  // identifies this table in the per-thread caches
};

}  // namespace qwenrt::text
