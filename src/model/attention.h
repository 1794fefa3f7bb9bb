#pragma once
// Multi-head causal self-attention with grouped KV heads, per-head QK RMSNorm, RoPE and an
// optional output gate (Qwen3-Next / Qwen3.5 "gated attention": q_proj emits [query | gate]
// per head and the attention output is multiplied by sigmoid(gate) before o_proj).
// New K/V go into the paged KvCache first; every query then attends over its sequence's cache
// up to its own slot, which makes prefill, decode and mixed batches the same computation.
#include "model/batch.h"
#include "model/exec_context.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "model/weight_binder.h"
#include "io/weight.h"

#include <vector>

namespace qwenrt {

struct AttentionConfig {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  float norm_eps = 1e-6f;
  bool gated = false;  // q_proj rows per head: [query(head_dim) | gate(head_dim)]
};

struct AttentionWeights {
  Weight wq;  // [n_head * head_dim * (gated ? 2 : 1), n_embd]
  Weight wk;  // [n_head_kv * head_dim, n_embd]
  Weight wv;  // [n_head_kv * head_dim, n_embd]
  Weight wo;  // [n_embd, n_head * head_dim]
  const float* q_norm = nullptr;  // [head_dim], multiplied as stored (canonical form)
  const float* k_norm = nullptr;
};

// Binds blk.{il}.attn_{q,k,v,output}.weight and attn_{q,k}_norm.weight.
AttentionWeights bind_attention(WeightBinder& b, int il, const AttentionConfig& cfg, int64_t n_embd, NormForm qk_norm_form);

// x, out: [n_tok x n_embd]. `cache_index[t]` is token t's slot in its sequence (KvCache::append).
void attention_forward(const ExecContext& ctx, const AttentionConfig& cfg, const AttentionWeights& w,
                       const RopeTable& rope, const Batch& batch, const std::vector<int64_t>& cache_index,
                       KvCache& kv, int cache_layer, const float* x, float* out, int layer);

}  // namespace qwenrt
