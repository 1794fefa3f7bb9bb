#include "model/attention.h"

#include "model/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace qwenrt {

AttentionWeights bind_attention(WeightBinder& b, int il, const AttentionConfig& cfg, int64_t n_embd, NormForm qk_norm_form) {
  const std::string blk = "blk." + std::to_string(il) + ".";
  const int64_t q_rows = int64_t{cfg.n_head} * cfg.head_dim * (cfg.gated ? 2 : 1);
  const int64_t kv_rows = int64_t{cfg.n_head_kv} * cfg.head_dim;
  AttentionWeights w;
  w.wq = b.matrix(blk + "attn_q.weight", {q_rows, n_embd});
  w.wk = b.matrix(blk + "attn_k.weight", {kv_rows, n_embd});
  w.wv = b.matrix(blk + "attn_v.weight", {kv_rows, n_embd});
  w.wo = b.matrix(blk + "attn_output.weight", {n_embd, int64_t{cfg.n_head} * cfg.head_dim});
  w.q_norm = b.norm(blk + "attn_q_norm.weight", cfg.head_dim, qk_norm_form);
  w.k_norm = b.norm(blk + "attn_k_norm.weight", cfg.head_dim, qk_norm_form);
  return w;
}

void attention_forward(const ExecContext& ctx, const AttentionConfig& cfg, const AttentionWeights& w,
                       const RopeTable& rope, const Batch& batch, const std::vector<int64_t>& cache_index,
                       KvCache& kv, int cache_layer, const float* x, float* out, int layer) {
  const int64_t n_tok = batch.size();
  const int hd = cfg.head_dim;
  const int q_width = cfg.n_head * hd * (cfg.gated ? 2 : 1);
  const int kv_width = cfg.n_head_kv * hd;
  std::vector<float> q(static_cast<size_t>(n_tok * q_width));
  std::vector<float> k(static_cast<size_t>(n_tok * kv_width));
  std::vector<float> v(static_cast<size_t>(n_tok * kv_width));
  linear(ctx, w.wq, x, n_tok, q.data());
  linear(ctx, w.wk, x, n_tok, k.data());
  linear(ctx, w.wv, x, n_tok, v.data());

  // Per head: RMSNorm over head_dim, then RoPE; K and V go to the cache.
  const int q_stride = cfg.gated ? 2 * hd : hd;  // distance between query heads in q
  ctx.pool->parallel_for(n_tok, 1, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int h = 0; h < cfg.n_head; ++h) {
        float* qh = q.data() + t * q_width + h * q_stride;
        rms_norm_vector(qh, w.q_norm, hd, cfg.norm_eps);
        apply_rope(qh, rope.half(), rope.cos(t), rope.sin(t));
      }
      const int seq = batch.seq_ids[static_cast<size_t>(t)];
      for (int g = 0; g < cfg.n_head_kv; ++g) {
        float* kh = k.data() + t * kv_width + g * hd;
        rms_norm_vector(kh, w.k_norm, hd, cfg.norm_eps);
        apply_rope(kh, rope.half(), rope.cos(t), rope.sin(t));
        std::memcpy(kv.key(cache_layer, seq, cache_index[static_cast<size_t>(t)], g), kh, sizeof(float) * static_cast<size_t>(hd));
        std::memcpy(kv.value(cache_layer, seq, cache_index[static_cast<size_t>(t)], g), v.data() + t * kv_width + g * hd,
                    sizeof(float) * static_cast<size_t>(hd));
      }
    }
  });
  ctx.trace("q_rope", layer, q.data(), n_tok, q_width);
  ctx.trace("k_rope", layer, k.data(), n_tok, kv_width);

  // softmax(q K^T / sqrt(hd)) V per (token, head), streaming over cache blocks with a running
  // max (one rescale per block) so no [n_tok x n_ctx] score matrix is materialised.
  std::vector<float> attn(static_cast<size_t>(n_tok * cfg.n_head * hd));
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int group = cfg.n_head / cfg.n_head_kv;
  const int bt = kv.block_tokens();
  const auto* kt = ctx.kernels;
  const int n_threads = ctx.pool->size();
  std::vector<float> scores(static_cast<size_t>(n_threads * bt));
  ctx.pool->run(n_tok * cfg.n_head, [&](int64_t task, int thread) {
    const int64_t t = task / cfg.n_head;
    const int h = static_cast<int>(task % cfg.n_head);
    const int g = h / group;
    const int seq = batch.seq_ids[static_cast<size_t>(t)];
    const int64_t n_keys = cache_index[static_cast<size_t>(t)] + 1;
    const float* qh = q.data() + t * q_width + h * q_stride;
    float* o = attn.data() + (t * cfg.n_head + h) * hd;
    float* s = scores.data() + thread * bt;
    std::fill(o, o + hd, 0.0f);
    float running_max = -std::numeric_limits<float>::infinity();
    float denom = 0.0f;
    for (int64_t b = 0; b * bt < n_keys; ++b) {
      const int n = static_cast<int>(std::min<int64_t>(bt, n_keys - b * bt));
      const float* keys = kv.key_block(cache_layer, seq, b, g);
      const float* vals = kv.value_block(cache_layer, seq, b, g);
      float block_max = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < n; ++j) {
        s[j] = kt->dot_f32(qh, keys + j * hd, hd) * scale;
        block_max = std::max(block_max, s[j]);
      }
      if (block_max > running_max) {
        const float correction = std::exp(running_max - block_max);
        kt->scale_f32(o, correction, hd);
        denom *= correction;
        running_max = block_max;
      }
      for (int j = 0; j < n; ++j) {
        const float p = std::exp(s[j] - running_max);
        denom += p;
        kt->axpy_f32(p, vals + j * hd, o, hd);
      }
    }
    kt->scale_f32(o, 1.0f / denom, hd);
    if (cfg.gated) {
      const float* gate = qh + hd;
      for (int i = 0; i < hd; ++i) o[i] *= sigmoid(gate[i]);
    }
  });
  ctx.trace("attn_heads", layer, attn.data(), n_tok, static_cast<int64_t>(cfg.n_head) * hd);
  linear(ctx, w.wo, attn.data(), n_tok, out);
}

}  // namespace qwenrt
