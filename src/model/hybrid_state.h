#pragma once
// The memory of a decoder whose layers mix attention and linear attention: a paged KV cache for
// the attention layers and a recurrent state for the Gated DeltaNet layers, composed rather than
// special-cased (a pure-attention model simply has no recurrent layers). An optional second KV
// cache serves the multi-token-prediction layer.
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/recurrent_state.h"

#include <memory>
#include <vector>

namespace qwenrt {

class HybridState : public ModelState {
 public:
  HybridState(const KvCache::Config& kv, const RecurrentState::Config& recurrent, size_t max_bytes,
              const KvCache::Config* mtp_kv = nullptr);

  int64_t length(int seq) const override { return kv.length(seq); }
  // Attention positions can be forgotten; a recurrent state cannot be rewound, so a hybrid
  // model only allows truncating to 0 (forget the sequence) or to its current length.
  void truncate(int seq, int64_t length) override;
  size_t bytes_in_use() const override;

  // Reserves room for a batch (KV slots, recurrent states of new sequences) within the budget;
  // returns each token's slot in its sequence. Throws Error, changing nothing, when over budget.
  std::vector<int64_t> prepare(const Batch& batch);

  KvCache kv;
  RecurrentState recurrent;
  std::unique_ptr<KvCache> mtp_kv;

 private:
  size_t max_bytes_;
};

}  // namespace qwenrt
