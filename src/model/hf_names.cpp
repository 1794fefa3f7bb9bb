#include "model/hf_names.h"

#include <charconv>

namespace qwenrt {
namespace {

struct Pair {
  std::string_view gguf;
  std::string_view hf;
};

// Per-layer tensors: canonical suffix after "blk.N." -> HF suffix after the layer prefix.
constexpr Pair kLayerNames[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_q_norm.weight", "self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "self_attn.k_norm.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"post_attention_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"ffn_gate_inp.weight", "mlp.gate.weight"},
    {"ffn_gate_shexp.weight", "mlp.shared_expert.gate_proj.weight"},
    {"ffn_up_shexp.weight", "mlp.shared_expert.up_proj.weight"},
    {"ffn_down_shexp.weight", "mlp.shared_expert.down_proj.weight"},
    {"ffn_gate_inp_shexp.weight", "mlp.shared_expert_gate.weight"},
};

constexpr Pair kGlobalNames[] = {
    {"token_embd.weight", "embed_tokens.weight"},
    {"output_norm.weight", "norm.weight"},
};

}  // namespace

std::optional<std::pair<int, std::string_view>> split_layer_name(std::string_view canonical) {
  if (!canonical.starts_with("blk.")) return std::nullopt;
  const std::string_view rest = canonical.substr(4);
  int layer = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  if (ec != std::errc() || ptr == rest.data() || ptr == rest.data() + rest.size() || *ptr != '.') return std::nullopt;
  return std::make_pair(layer, rest.substr(static_cast<size_t>(ptr - rest.data()) + 1));
}

std::optional<std::string> hf_tensor_name(std::string_view canonical, std::string_view prefix,
                                          const LayerPrefix& layer_prefix) {
  if (canonical == "output.weight") return std::string("lm_head.weight");
  for (const auto& p : kGlobalNames) {
    if (canonical == p.gguf) return std::string(prefix) + std::string(p.hf);
  }
  const auto split = split_layer_name(canonical);
  if (!split) return std::nullopt;
  for (const auto& p : kLayerNames) {
    if (split->second == p.gguf) return layer_prefix(split->first) + std::string(p.hf);
  }
  return std::nullopt;
}

}  // namespace qwenrt
