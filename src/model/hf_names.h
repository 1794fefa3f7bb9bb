#pragma once
// Hugging Face tensor names of the Qwen family's canonical (GGUF-named) tensors, for the blocks
// every family shares: embeddings, norms, attention, dense and shared-expert feed-forward, the
// router. Families map their own extras (Gated DeltaNet, MTP, experts) in their binding code.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace qwenrt {

// HF prefix of decoder layer `il` ("model.layers.3.", "mtp.layers.0.").
using LayerPrefix = std::function<std::string(int il)>;

// "blk.3.attn_q.weight" -> layer_prefix(3) + "self_attn.q_proj.weight"; "token_embd.weight" ->
// prefix + "embed_tokens.weight"; "output.weight" -> "lm_head.weight". nullopt when unknown.
std::optional<std::string> hf_tensor_name(std::string_view canonical, std::string_view prefix,
                                          const LayerPrefix& layer_prefix);

// Splits "blk.12.attn_q.weight" into 12 and "attn_q.weight".
std::optional<std::pair<int, std::string_view>> split_layer_name(std::string_view canonical);

}  // namespace qwenrt
