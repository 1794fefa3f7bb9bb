#include "model/attention.h"

#include "base/scratch.h"
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
  Scratch<float> q(static_cast<size_t>(n_tok * q_width));
  Scratch<float> k(static_cast<size_t>(n_tok * kv_width));
  Scratch<float> v(static_cast<size_t>(n_tok * kv_width));
  // One pool pass for the three projections, one quantization of x.
  linear_many(ctx, {{&w.wq, x, n_tok, q.data()}, {&w.wk, x, n_tok, k.data()}, {&w.wv, x, n_tok, v.data()}});

  // Per head: RMSNorm over head_dim, then RoPE; K and V go to the cache (rounded to f16 in an f16 one).
  const bool f16_cache = kv.dtype() == DType::F16;
  const int q_stride = cfg.gated ? 2 * hd : hd;  // distance between query heads in q
  ctx.pool->parallel_for(n_tok, 1, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int h = 0; h < cfg.n_head; ++h) {
        float* qh = q.data() + t * q_width + h * q_stride;
        rms_norm_vector(*ctx.kernels, qh, w.q_norm, hd, cfg.norm_eps);
        apply_rope(qh, rope.half(), rope.cos(t), rope.sin(t));
      }
      const int seq = batch.seq_ids[static_cast<size_t>(t)];
      for (int g = 0; g < cfg.n_head_kv; ++g) {
        float* kh = k.data() + t * kv_width + g * hd;
        rms_norm_vector(*ctx.kernels, kh, w.k_norm, hd, cfg.norm_eps);
        apply_rope(kh, rope.half(), rope.cos(t), rope.sin(t));
        const int64_t slot = cache_index[static_cast<size_t>(t)];
        const float* vh = v.data() + t * kv_width + g * hd;
        if (f16_cache) {
          ctx.kernels->f32_to_f16(kh, kv.key<uint16_t>(cache_layer, seq, slot, g), hd);
          ctx.kernels->f32_to_f16(vh, kv.value<uint16_t>(cache_layer, seq, slot, g), hd);
        } else {
          std::memcpy(kv.key(cache_layer, seq, slot, g), kh, sizeof(float) * static_cast<size_t>(hd));
          std::memcpy(kv.value(cache_layer, seq, slot, g), vh, sizeof(float) * static_cast<size_t>(hd));
        }
      }
    }
  });
  ctx.trace("q_rope", layer, q.data(), n_tok, q_width);
  ctx.trace("k_rope", layer, k.data(), n_tok, kv_width);

  // softmax(q K^T / sqrt(hd)) V per (token, head), streaming over cache blocks with a running
  // max (one rescale per block) so no [n_tok x n_ctx] score matrix is materialised. Consecutive
  // tokens of one sequence (a prompt) go in tiles of up to kAttnTile queries that share each key
  // and value load; a query's keys past its own position are masked (p = 0, which leaves its sums
  // unchanged), so every query computes exactly what it would alone.
  Scratch<float> attn(static_cast<size_t>(n_tok * cfg.n_head * hd));  // each tile clears its rows
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int group = cfg.n_head / cfg.n_head_kv;
  const int bt = kv.block_tokens();
  const auto* kt = ctx.kernels;
  constexpr int kTile = kernels::kAttnTile;
  std::vector<int64_t> tiles;  // first token of each tile; tiles.back() == n_tok
  for (int64_t t = 0; t < n_tok;) {
    tiles.push_back(t);
    int64_t e = t + 1;
    while (e < n_tok && e - t < kTile && batch.seq_ids[static_cast<size_t>(e)] == batch.seq_ids[static_cast<size_t>(t)] &&
           cache_index[static_cast<size_t>(e)] == cache_index[static_cast<size_t>(e - 1)] + 1) {
      ++e;
    }
    t = e;
  }
  const int64_t n_tiles = static_cast<int64_t>(tiles.size());
  tiles.push_back(n_tok);
  const int n_threads = ctx.pool->size();
  Scratch<float> scratch(static_cast<size_t>(n_threads * kTile * bt));
  const int64_t o_stride = static_cast<int64_t>(cfg.n_head) * hd;
  // The last tiles of a prompt see the most keys: they go first, so no thread is left with one
  // long task at the end. When every tile is one token (decode steps), a task takes the `group`
  // query heads that share a KV head instead: one read of its keys and values for all of them.
  // A query's arithmetic is the same either way (the kernels compute each query on its own).
  const bool heads_as_queries = n_tiles == n_tok && group > 1 && group <= kTile;
  const int per_tile = heads_as_queries ? cfg.n_head_kv : cfg.n_head;
  ctx.pool->run(n_tiles * per_tile, [&](int64_t task, int thread) {
    const size_t tile = static_cast<size_t>(n_tiles - 1 - task / per_tile);
    const int64_t t0 = tiles[tile];
    const int h = heads_as_queries ? static_cast<int>(task % per_tile) * group : static_cast<int>(task % per_tile);
    const int g = h / group;
    const int nq = heads_as_queries ? group : static_cast<int>(tiles[tile + 1] - t0);
    // Query i's vector, output and causal length: token t0 + i of head h, or head h + i of token t0.
    const int64_t q_step = heads_as_queries ? q_stride : q_width;
    const int64_t o_step = heads_as_queries ? hd : o_stride;
    const int seq = batch.seq_ids[static_cast<size_t>(t0)];
    int64_t n_keys[kTile];
    for (int i = 0; i < nq; ++i) n_keys[i] = cache_index[static_cast<size_t>(t0 + (heads_as_queries ? 0 : i))] + 1;
    const float* qh = q.data() + t0 * q_width + h * q_stride;
    float* o = attn.data() + (t0 * cfg.n_head + h) * hd;
    float* s = scratch.data() + static_cast<size_t>(thread * kTile * bt);
    float running_max[kTile], denom[kTile];
    for (int i = 0; i < nq; ++i) {
      std::fill(o + i * o_step, o + i * o_step + hd, 0.0f);
      running_max[i] = -std::numeric_limits<float>::infinity();
      denom[i] = 0.0f;
    }
    const int64_t keys_max = n_keys[nq - 1];
    for (int64_t b = 0; b * bt < keys_max; ++b) {
      const int n = static_cast<int>(std::min<int64_t>(bt, keys_max - b * bt));
      if (f16_cache) kt->attn_scores_f16(qh, q_step, nq, kv.key_block<uint16_t>(cache_layer, seq, b, g), n, hd, s);
      else kt->attn_scores(qh, q_step, nq, kv.key_block(cache_layer, seq, b, g), n, hd, s);
      for (int i = 0; i < nq; ++i) {
        float* si = s + i * n;
        const int valid = static_cast<int>(std::clamp<int64_t>(n_keys[i] - b * bt, 0, n));
        const float block_max = kt->scale_max_f32(si, scale, valid);
        if (block_max > running_max[i]) {
          const float correction = std::exp(running_max[i] - block_max);
          kt->scale_f32(o + i * o_step, correction, hd);
          denom[i] *= correction;
          running_max[i] = block_max;
        }
        denom[i] += kt->exp_sum_f32(si, running_max[i], valid);
        std::fill(si + valid, si + n, 0.0f);
      }
      if (f16_cache) kt->attn_accumulate_f16(s, nq, n, kv.value_block<uint16_t>(cache_layer, seq, b, g), hd, o, o_step);
      else kt->attn_accumulate(s, nq, n, kv.value_block(cache_layer, seq, b, g), hd, o, o_step);
    }
    for (int i = 0; i < nq; ++i) {
      float* oi = o + i * o_step;
      kt->scale_f32(oi, 1.0f / denom[i], hd);
      if (cfg.gated) {
        const float* gate = qh + i * q_step + hd;
        for (int d = 0; d < hd; ++d) oi[d] *= sigmoid(gate[d]);
      }
    }
  });
  ctx.trace("attn_heads", layer, attn.data(), n_tok, static_cast<int64_t>(cfg.n_head) * hd);
  linear(ctx, w.wo, attn.data(), n_tok, out);
}

}  // namespace qwenrt
