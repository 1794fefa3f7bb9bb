#pragma once
// The decoder layer every family here is built from (MODELS.md 1.7): x <- x + Mixer(Norm(x)),
// then x <- x + FFN(Norm(x)), where the mixer is full attention or Gated DeltaNet and the FFN is
// dense SwiGLU or mixture-of-experts. Which one a layer has is data, not code: the families
// differ in their layer lists, not in a forward pass of their own.
#include "model/attention.h"
#include "model/ffn.h"
#include "model/gated_delta_net.h"
#include "model/hybrid_state.h"
#include "model/moe.h"

#include <optional>
#include <vector>

namespace qwenrt {

struct DecoderLayer {
  const float* attn_norm = nullptr;
  std::optional<AttentionWeights> attention;   // full-attention layer ...
  int cache_layer = -1;                        // ... and its index in the KV cache
  std::optional<GdnWeights> linear_attention;  // Gated DeltaNet layer ...
  int state_layer = -1;                        // ... and its index in the recurrent state
  const float* ffn_norm = nullptr;
  std::optional<DenseFfnWeights> dense;
  std::optional<MoeWeights> moe;
};

struct DecoderConfig {
  int64_t n_embd = 0;
  float eps = 1e-6f;
  NormForm norm_form = NormForm::Plain;  // of the layer norms (zero-centred in Qwen3-Next / 3.5)
  AttentionConfig attention;
  GdnConfig linear_attention;
  MoeConfig moe;
  int64_t n_ff = 0;  // dense FFN width
};

// Binds layer il: the norms (attn_norm, and ffn_norm or post_attention_norm as `ffn_norm_name`
// says), the mixer and the FFN.
DecoderLayer bind_decoder_layer(WeightBinder& b, int il, const DecoderConfig& cfg, bool full_attention, bool moe,
                                const char* ffn_norm_name);

// Runs `layers` over the residual stream x [n_tok x n_embd] in place. Attention layers use `kv`
// (slots from its append), linear-attention layers `recurrent`. `trace_offset` numbers the
// layers in traces.
void run_decoder(const ExecContext& ctx, const DecoderConfig& cfg, const std::vector<DecoderLayer>& layers,
                 const Batch& batch, const std::vector<int64_t>& slots, const RopeTable& rope, KvCache& kv,
                 RecurrentState* recurrent, float* x, int trace_offset = 0);

}  // namespace qwenrt
