#pragma once
// Paged key/value cache for the attention layers of all sequences. Memory is handed out in
// blocks of `block_tokens` positions (all layers of those positions together); a sequence owns
// a list of blocks, so sequences grow, shrink and free without moving data or fragmenting, and
// a memory budget bounds the total. Layout of one block (f32, or f16 to halve the cache):
//   [layer][K | V][kv_head][block_tokens][head_dim]
// so the keys of one head within a block are contiguous for the attention loop.
#include "base/aligned_buffer.h"
#include "base/error.h"
#include "tensor/dtype.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qwenrt {

struct Batch;

class KvCache {
 public:
  struct Config {
    int n_layers = 0;  // attention layers only
    int n_kv_heads = 0;
    int head_dim = 0;
    int block_tokens = 32;
    size_t max_bytes = 0;  // 0: unbounded
    DType dtype = DType::F32;  // F32 or F16
  };
  explicit KvCache(const Config& config);

  int block_tokens() const { return cfg_.block_tokens; }
  int64_t length(int seq) const;
  // Reserves room for each sequence's new tokens and returns each token's index in its
  // sequence (the cache slot its K/V goes to). Throws Error when the budget (the configured
  // one, or `budget` when `use_budget`) would be exceeded; nothing is changed then.
  std::vector<int64_t> append(const Batch& batch) { return append(batch, cfg_.max_bytes, cfg_.max_bytes != 0); }
  std::vector<int64_t> append(const Batch& batch, size_t budget, bool use_budget);
  void truncate(int seq, int64_t length);
  void release(int seq) { truncate(seq, 0); }

  DType dtype() const { return cfg_.dtype; }
  // A token's key (or value) of one head, as T: float for an F32 cache, uint16_t for F16.
  template <class T = float>
  T* key(int layer, int seq, int64_t index, int head) { return typed<T>(slot(layer, 0, seq, index, head)); }
  template <class T = float>
  T* value(int layer, int seq, int64_t index, int head) { return typed<T>(slot(layer, 1, seq, index, head)); }
  // Keys (or values) of one head for the block holding index `block * block_tokens`.
  template <class T = float>
  const T* key_block(int layer, int seq, int64_t block, int head) const { return typed<T>(block_slot(layer, 0, seq, block, head)); }
  template <class T = float>
  const T* value_block(int layer, int seq, int64_t block, int head) const { return typed<T>(block_slot(layer, 1, seq, block, head)); }

  size_t bytes_per_block() const { return block_elems_ * elem_bytes_; }
  size_t bytes_per_token() const { return bytes_per_block() / static_cast<size_t>(cfg_.block_tokens); }
  size_t bytes_in_use() const { return static_cast<size_t>(blocks_in_use_) * bytes_per_block(); }
  size_t bytes_allocated() const;

 private:
  std::byte* block_ptr(int32_t block) const;
  int32_t take_block();
  size_t offset(int layer, int kv, int head) const;  // in elements
  std::byte* slot(int layer, int kv, int seq, int64_t index, int head) const;
  std::byte* block_slot(int layer, int kv, int seq, int64_t block, int head) const;
  template <class T>
  T* typed(std::byte* p) const {
    QW_CHECK(sizeof(T) == elem_bytes_);
    return reinterpret_cast<T*>(p);
  }

  struct Seq {
    std::vector<int32_t> blocks;
    int64_t length = 0;
  };
  Config cfg_;
  size_t elem_bytes_;
  size_t block_elems_;
  int blocks_per_chunk_;
  std::vector<Seq> seqs_;
  std::vector<AlignedBuffer> chunks_;
  std::vector<int32_t> free_blocks_;
  int32_t blocks_created_ = 0;
  int32_t blocks_in_use_ = 0;
};

}  // namespace qwenrt
