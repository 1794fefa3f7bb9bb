#pragma once
// Gated DeltaNet linear attention (Qwen3-Next / Qwen3.5 "linear_attention" layers; MODELS.md 4.3,
// 4.4): projections to q|k|v (one fused weight, channels in that order), z, beta and alpha; a
// causal depthwise conv1d with a per-sequence state and SiLU; L2-normalised q and k (q scaled by
// 1/sqrt(d_k)); per value head the delta rule
//   S <- exp(g) S;  delta = beta (v - S^T k);  S <- S + k delta^T;  o = S^T q,
// with beta = sigmoid(b) and g = A * softplus(alpha + dt_bias), A = -exp(A_log); then a gated
// RMSNorm w * o_hat * silu(z) per head and the output projection.
// A sequence's tokens in one batch run through the chunked parallel form (chunks of 64, from any
// starting state); a single token uses the recurrence. Both give the same result.
#include "io/config_reader.h"
#include "io/weight.h"
#include "model/batch.h"
#include "model/exec_context.h"
#include "model/recurrent_state.h"
#include "model/weight_binder.h"

namespace qwenrt {

class GgufWriter;

struct GdnConfig {
  int64_t n_k_heads = 0;  // linear_num_key_heads (ssm.group_count)
  int64_t n_v_heads = 0;  // linear_num_value_heads (ssm.time_step_rank)
  int64_t d_k = 0;        // linear_key_head_dim (ssm.state_size)
  int64_t d_v = 0;        // linear_value_head_dim
  int64_t conv_kernel = 4;
  float norm_eps = 1e-6f;
  // Which key head a value head reads: HF and Qwen3-Next GGUFs group value heads by key head
  // (j / r); llama.cpp's Qwen3.5 GGUFs tile them (j % n_k_heads).
  bool value_heads_tiled = false;
  bool fused_ba = false;  // Qwen3-Next: one ssm_ba weight, [b(r) | a(r)] per key head
  int chunk = 64;         // 0: always use the recurrence (tests)

  int64_t key_dim() const { return n_k_heads * d_k; }
  int64_t value_dim() const { return n_v_heads * d_v; }
  int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
  int64_t key_head_of(int64_t v_head) const {
    return value_heads_tiled ? v_head % n_k_heads : v_head / (n_v_heads / n_k_heads);
  }
  RecurrentState::Config state_config(int n_layers) const {
    return {n_layers, (conv_kernel - 1) * conv_dim(), n_v_heads * d_k * d_v};
  }
};

// linear_num_key_heads / ssm.group_count, linear_num_value_heads / ssm.time_step_rank,
// linear_key_head_dim / ssm.state_size, linear_value_head_dim / ssm.inner_size / time_step_rank,
// linear_conv_kernel_dim / ssm.conv_kernel.
GdnConfig read_gdn_config(const ConfigReader& cfg, float norm_eps);
// The ssm.* keys and full_attention_interval as llama.cpp's converter writes them.
void write_gdn_gguf(GgufWriter& w, const std::string& arch, const GdnConfig& c, int64_t full_attention_interval);
// Which layers are full attention: config.json's layer_types when given, else every
// full_attention_interval-th layer ((l + 1) % interval == 0), the Qwen3-Next rule.
std::vector<bool> hybrid_full_attention_layers(const ConfigReader& cfg, int64_t n_layer, int64_t* interval);

struct GdnWeights {
  Weight qkv;         // attn_qkv  [conv_dim, n_embd]
  Weight gate;        // attn_gate [value_dim, n_embd] (z)
  Weight ba;          // ssm_ba    [2 n_v_heads, n_embd] (fused_ba)
  Weight beta;        // ssm_beta  [n_v_heads, n_embd]
  Weight alpha;       // ssm_alpha [n_v_heads, n_embd]
  const float* conv = nullptr;     // ssm_conv1d [conv_dim, kernel]
  const float* dt_bias = nullptr;  // ssm_dt.bias [n_v_heads]
  const float* a = nullptr;        // ssm_a [n_v_heads] = -exp(A_log)
  const float* norm = nullptr;     // ssm_norm [d_v]
  Weight out;         // ssm_out [n_embd, value_dim]
};

// Binds the canonical (GGUF-named) tensors of layer il. HF sources: Qwen3.5's in_proj_qkv /
// in_proj_z / in_proj_b / in_proj_a map directly; Qwen3-Next's grouped in_proj_qkvz is regrouped
// into attn_qkv and attn_gate without copying; A_log becomes -exp(A_log).
GdnWeights bind_gated_delta_net(WeightBinder& b, int il, const GdnConfig& cfg, int64_t n_embd);

// x, out: [n_tok x n_embd]; `state_layer` indexes the layer in RecurrentState.
void gated_delta_net_forward(const ExecContext& ctx, const GdnConfig& cfg, const GdnWeights& w, const Batch& batch,
                             RecurrentState& state, int state_layer, const float* x, float* out, int layer);

// The delta rule for one value head over n tokens, from and back into `S` [d_k][d_v]:
// q, k [n][d_k] (normalised, q scaled), v [n][d_v], beta and g [n]; o [n][d_v]. The vector steps
// (dots, axpys, scaling) run on `kt`'s kernels.
void delta_rule_recurrent(const kernels::KernelTable& kt, int64_t n, int64_t d_k, int64_t d_v, const float* q, const float* k,
                          const float* v, const float* beta, const float* g, float* S, float* o);
void delta_rule_chunked(const kernels::KernelTable& kt, int64_t n, int64_t d_k, int64_t d_v, int chunk, const float* q,
                        const float* k, const float* v, const float* beta, const float* g, float* S, float* o);

}  // namespace qwenrt
