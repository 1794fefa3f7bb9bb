#pragma once
// Paged key/value cache for the attention layers of all sequences. Memory is handed out in
// blocks of `block_tokens` positions (all layers of those positions together); a sequence owns
// a list of blocks, so sequences grow, shrink and free without moving data or fragmenting, and
// a memory budget bounds the total. Layout of one block (f32):
//   [layer][K | V][kv_head][block_tokens][head_dim]
// so the keys of one head within a block are contiguous for the attention loop.
#include "base/aligned_buffer.h"

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

  float* key(int layer, int seq, int64_t index, int head);
  float* value(int layer, int seq, int64_t index, int head);
  // Keys (or values) of one head for the block holding index `block * block_tokens`.
  const float* key_block(int layer, int seq, int64_t block, int head) const;
  const float* value_block(int layer, int seq, int64_t block, int head) const;

  size_t bytes_per_block() const { return block_floats_ * sizeof(float); }
  size_t bytes_per_token() const { return bytes_per_block() / static_cast<size_t>(cfg_.block_tokens); }
  size_t bytes_in_use() const { return static_cast<size_t>(blocks_in_use_) * bytes_per_block(); }
  size_t bytes_allocated() const;

 private:
  float* block_ptr(int32_t block) const;
  int32_t take_block();
  size_t offset(int layer, int kv, int head) const;

  struct Seq {
    std::vector<int32_t> blocks;
    int64_t length = 0;
  };
  Config cfg_;
  size_t block_floats_;
  int blocks_per_chunk_;
  std::vector<Seq> seqs_;
  std::vector<AlignedBuffer> chunks_;
  std::vector<int32_t> free_blocks_;
  int32_t blocks_created_ = 0;
  int32_t blocks_in_use_ = 0;
};

}  // namespace qwenrt
