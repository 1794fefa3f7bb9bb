#pragma once
// The state of a pure-attention model: one paged KV cache for all its layers and sequences.
#include "model/kv_cache.h"
#include "model/model.h"

namespace qwenrt {

class KvState : public ModelState {
 public:
  explicit KvState(const KvCache::Config& config) : kv(config) {}
  int64_t length(int seq) const override { return kv.length(seq); }
  void truncate(int seq, int64_t length) override { kv.truncate(seq, length); }
  size_t bytes_in_use() const override { return kv.bytes_in_use(); }

  KvCache kv;
};

}  // namespace qwenrt
