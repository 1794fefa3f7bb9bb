#include "model/kv_cache.h"

#include "base/error.h"
#include "base/strings.h"
#include "model/batch.h"

#include <algorithm>
#include <map>

namespace qwenrt {

KvCache::KvCache(const Config& config) : cfg_(config) {
  QW_CHECK(cfg_.n_layers >= 0 && cfg_.n_kv_heads > 0 && cfg_.head_dim > 0 && cfg_.block_tokens > 0);
  QW_CHECK(cfg_.dtype == DType::F32 || cfg_.dtype == DType::F16);
  elem_bytes_ = cfg_.dtype == DType::F16 ? 2 : 4;
  block_elems_ = static_cast<size_t>(cfg_.n_layers) * 2 * static_cast<size_t>(cfg_.n_kv_heads) *
                  static_cast<size_t>(cfg_.block_tokens) * static_cast<size_t>(cfg_.head_dim);
  // Chunks of about 16 MiB keep allocation calls rare without reserving much up front.
  blocks_per_chunk_ = static_cast<int>(std::clamp<size_t>((16u << 20) / std::max<size_t>(bytes_per_block(), 1), 1, 4096));
}

int64_t KvCache::length(int seq) const {
  return seq >= 0 && static_cast<size_t>(seq) < seqs_.size() ? seqs_[static_cast<size_t>(seq)].length : 0;
}

size_t KvCache::bytes_allocated() const {
  size_t n = 0;
  for (const auto& c : chunks_) n += c.size();
  return n;
}

std::byte* KvCache::block_ptr(int32_t block) const {
  const auto& chunk = chunks_[static_cast<size_t>(block / blocks_per_chunk_)];
  return const_cast<std::byte*>(chunk.data()) + static_cast<size_t>(block % blocks_per_chunk_) * bytes_per_block();
}

int32_t KvCache::take_block() {
  if (!free_blocks_.empty()) {
    const int32_t b = free_blocks_.back();
    free_blocks_.pop_back();
    ++blocks_in_use_;
    return b;
  }
  if (blocks_created_ % blocks_per_chunk_ == 0) {
    chunks_.emplace_back(static_cast<size_t>(blocks_per_chunk_) * bytes_per_block());
  }
  ++blocks_in_use_;
  return blocks_created_++;
}

std::vector<int64_t> KvCache::append(const Batch& batch, size_t budget, bool use_budget) {
  std::map<int, int64_t> added;  // seq -> tokens this batch adds
  std::vector<int64_t> index(static_cast<size_t>(batch.size()));
  for (int64_t i = 0; i < batch.size(); ++i) {
    const int seq = batch.seq_ids[static_cast<size_t>(i)];
    if (seq < 0 || seq > (1 << 20)) fail("sequence id {} is out of range", seq);
    index[static_cast<size_t>(i)] = length(seq) + added[seq]++;
  }
  // Check the budget for the whole batch before changing anything.
  int64_t new_blocks = 0;
  for (const auto& [seq, n] : added) {
    const int64_t have = seq < static_cast<int>(seqs_.size()) ? static_cast<int64_t>(seqs_[static_cast<size_t>(seq)].blocks.size()) : 0;
    const int64_t need = (length(seq) + n + cfg_.block_tokens - 1) / cfg_.block_tokens;
    new_blocks += std::max<int64_t>(0, need - have);
  }
  if (use_budget) {
    const size_t after = static_cast<size_t>(blocks_in_use_ + new_blocks) * bytes_per_block();
    if (after > budget) {
      fail("KV cache full: {} needed, budget {} ({} in use)", format_bytes(static_cast<double>(after)),
           format_bytes(static_cast<double>(budget)), format_bytes(static_cast<double>(bytes_in_use())));
    }
  }
  for (const auto& [seq, n] : added) {
    if (static_cast<size_t>(seq) >= seqs_.size()) seqs_.resize(static_cast<size_t>(seq) + 1);
    Seq& s = seqs_[static_cast<size_t>(seq)];
    s.length += n;
    while (static_cast<int64_t>(s.blocks.size()) * cfg_.block_tokens < s.length) s.blocks.push_back(take_block());
  }
  return index;
}

void KvCache::truncate(int seq, int64_t len) {
  if (seq < 0 || static_cast<size_t>(seq) >= seqs_.size()) return;
  Seq& s = seqs_[static_cast<size_t>(seq)];
  if (len >= s.length) return;
  s.length = std::max<int64_t>(len, 0);
  const size_t keep = static_cast<size_t>((s.length + cfg_.block_tokens - 1) / cfg_.block_tokens);
  while (s.blocks.size() > keep) {
    free_blocks_.push_back(s.blocks.back());
    s.blocks.pop_back();
    --blocks_in_use_;
  }
}

size_t KvCache::offset(int layer, int kv, int head) const {
  return ((static_cast<size_t>(layer) * 2 + static_cast<size_t>(kv)) * static_cast<size_t>(cfg_.n_kv_heads) +
          static_cast<size_t>(head)) *
         static_cast<size_t>(cfg_.block_tokens) * static_cast<size_t>(cfg_.head_dim);
}

std::byte* KvCache::slot(int layer, int kv, int seq, int64_t index, int head) const {
  const Seq& s = seqs_[static_cast<size_t>(seq)];
  const size_t elem = offset(layer, kv, head) + static_cast<size_t>(index % cfg_.block_tokens) * static_cast<size_t>(cfg_.head_dim);
  return block_ptr(s.blocks[static_cast<size_t>(index / cfg_.block_tokens)]) + elem * elem_bytes_;
}

std::byte* KvCache::block_slot(int layer, int kv, int seq, int64_t block, int head) const {
  return block_ptr(seqs_[static_cast<size_t>(seq)].blocks[static_cast<size_t>(block)]) + offset(layer, kv, head) * elem_bytes_;
}

}  // namespace qwenrt
