#pragma once
// Sparse mixture-of-experts feed-forward (Qwen3-MoE, Qwen3-Next, Qwen3.5-MoE; MODELS.md 3.2,
// 4.5): softmax over all experts' router logits, the top-k kept (renormalised to sum to one
// when norm_topk), each a SwiGLU expert; optionally a shared SwiGLU expert scaled by
// sigmoid(w_gate . x) added on top. The tokens of a batch are grouped by expert, so each
// expert's weights are read once per forward pass however many tokens chose it.
#include "model/exec_context.h"
#include "model/ffn.h"
#include "io/config_reader.h"
#include "model/weight_binder.h"

#include <optional>

namespace qwenrt {

class GgufWriter;

struct MoeConfig {
  int64_t n_expert = 0;
  int64_t n_expert_used = 0;
  int64_t n_ff = 0;         // expert width
  int64_t n_ff_shared = 0;  // shared expert width; 0: none
  bool norm_topk = true;
};

struct MoeWeights {
  Weight router;  // [n_expert, n_embd]
  ExpertWeights experts;
  std::optional<DenseFfnWeights> shared;
  Weight shared_gate;  // [1, n_embd]
};

// num_experts / expert_count, num_experts_per_tok / expert_used_count, moe_intermediate_size /
// expert_feed_forward_length, shared_expert_intermediate_size / expert_shared_feed_forward_length
// (0 when absent); norm_topk from norm_topk_prob (HF) or expert_weights_norm (GGUF), else the default.
MoeConfig read_moe_config(const ConfigReader& cfg, bool default_norm_topk);
void write_moe_gguf(GgufWriter& w, const std::string& arch, const MoeConfig& m);

// Binds blk.{il}.ffn_gate_inp, the experts, and (when n_ff_shared > 0) the shared expert.
MoeWeights bind_moe(WeightBinder& b, int il, const MoeConfig& cfg, int64_t n_embd);

// x, out: [n_tok x n_embd]
void moe_forward(const ExecContext& ctx, const MoeConfig& cfg, const MoeWeights& w, const float* x, int64_t n_tok,
                 float* out, int layer);

// The routing decision for one token: expert ids and weights, k of them (exposed for tests).
struct Routing {
  std::vector<int32_t> experts;
  std::vector<float> weights;
};
Routing route(const float* router_logits, int64_t n_expert, int64_t k, bool norm_topk);

}  // namespace qwenrt
