#pragma once
// Hugging Face tensor names of the Qwen family's canonical (GGUF-named) tensors, for the blocks
// every family shares: embeddings, norms, attention, dense and MoE feed-forward. A family with
// tensors outside this table (Gated DeltaNet, fused experts) maps those itself.
#include <optional>
#include <string>
#include <string_view>

namespace qwenrt {

// "blk.3.attn_q.weight" with prefix "model." -> "model.layers.3.self_attn.q_proj.weight";
// "output.weight" -> "lm_head.weight". nullopt when the name is not in the shared table.
std::optional<std::string> hf_tensor_name(std::string_view canonical, std::string_view prefix);

}  // namespace qwenrt
