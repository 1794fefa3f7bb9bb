#include "model/decoder.h"

#include "base/error.h"
#include "base/scratch.h"
#include "model/ops.h"

namespace qwenrt {

DecoderLayer bind_decoder_layer(WeightBinder& b, int il, const DecoderConfig& cfg, bool full_attention, bool moe,
                                const char* ffn_norm_name) {
  const std::string blk = "blk." + std::to_string(il) + ".";
  DecoderLayer L;
  L.attn_norm = b.norm(blk + "attn_norm.weight", cfg.n_embd, cfg.norm_form);
  if (full_attention) {
    L.attention = bind_attention(b, il, cfg.attention, cfg.n_embd, cfg.norm_form);
  } else {
    L.linear_attention = bind_gated_delta_net(b, il, cfg.linear_attention, cfg.n_embd);
  }
  L.ffn_norm = b.norm(blk + ffn_norm_name, cfg.n_embd, cfg.norm_form);
  if (moe) {
    L.moe = bind_moe(b, il, cfg.moe, cfg.n_embd);
  } else {
    L.dense = bind_dense_ffn(b, il, cfg.n_ff, cfg.n_embd);
  }
  return L;
}

void run_decoder(const ExecContext& ctx, const DecoderConfig& cfg, const std::vector<DecoderLayer>& layers,
                 const Batch& batch, const std::vector<int64_t>& slots, const RopeTable& rope, KvCache& kv,
                 RecurrentState* recurrent, float* x, int trace_offset) {
  const int64_t T = batch.size(), H = cfg.n_embd;
  Scratch<float> cur(static_cast<size_t>(T * H)), branch(static_cast<size_t>(T * H));
  for (size_t i = 0; i < layers.size(); ++i) {
    const DecoderLayer& L = layers[i];
    const int il = static_cast<int>(i) + trace_offset;
    rms_norm(ctx, x, L.attn_norm, T, H, cfg.eps, cur.data());
    ctx.trace("attn_norm", il, cur.data(), T, H);
    if (L.attention) {
      attention_forward(ctx, cfg.attention, *L.attention, rope, batch, slots, kv, L.cache_layer, cur.data(), branch.data(), il);
    } else {
      QW_CHECK(recurrent && L.linear_attention);
      gated_delta_net_forward(ctx, cfg.linear_attention, *L.linear_attention, batch, *recurrent, L.state_layer, cur.data(),
                              branch.data(), il);
    }
    ctx.trace("attn_out", il, branch.data(), T, H);
    add_in_place(x, branch.data(), T * H);
    ctx.trace("ffn_inp", il, x, T, H);

    rms_norm(ctx, x, L.ffn_norm, T, H, cfg.eps, cur.data());
    ctx.trace("ffn_norm", il, cur.data(), T, H);
    if (L.moe) {
      moe_forward(ctx, cfg.moe, *L.moe, cur.data(), T, branch.data(), il);
    } else {
      dense_ffn_forward(ctx, *L.dense, cur.data(), T, branch.data(), il);
    }
    ctx.trace("ffn_out", il, branch.data(), T, H);
    add_in_place(x, branch.data(), T * H);
    ctx.trace("l_out", il, x, T, H);
  }
}

}  // namespace qwenrt
