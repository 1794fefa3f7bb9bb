// Qwen3 dense (Qwen3ForCausalLM; GGUF arch "qwen3"), MODELS.md section 2:
//   h = embed(tokens)
//   each layer:  h += o_proj(attention(q_norm(q_proj(n)), k_norm(k_proj(n)), v_proj(n)))  n = rms_norm(h)
//                h += down(silu(gate(n)) * up(n))                                          n = rms_norm(h)
//   logits = lm_head(rms_norm(h))   (lm_head = embed when tied)
// with grouped-query attention, per-head QK RMSNorm before NeoX RoPE over the whole head, and
// head_dim independent of hidden_size / heads.
#include "io/gguf_writer.h"
#include "model/causal_lm.h"
#include "models/architecture.h"

namespace qwenrt {
namespace {

constexpr const char* kGgufArch = "qwen3";

class Qwen3 final : public CausalLm {
 public:
  Qwen3(const ConfigReader& cfg, WeightBinder& b) {
    hp_ = read_common_hparams(cfg, b);
    cfg_.n_embd = hp_.n_embd;
    cfg_.eps = hp_.eps;
    cfg_.n_ff = cfg.get_int({"intermediate_size", "feed_forward_length"}, 1, 1 << 24);
    cfg_.attention = {static_cast<int>(hp_.n_head), static_cast<int>(hp_.n_head_kv), static_cast<int>(hp_.head_dim),
                      hp_.eps, /*gated=*/false};
    bind_embeddings(b);
    for (int il = 0; il < hp_.n_layer; ++il) {
      layers_.push_back(bind_decoder_layer(b, il, cfg_, /*full_attention=*/true, /*moe=*/false, "ffn_norm.weight"));
    }
    finish(b, "qwen3", "Qwen3ForCausalLM", kGgufArch, {{"intermediate_size", std::to_string(cfg_.n_ff)}});
  }

  void write_gguf_metadata(GgufWriter& w) const override { write_common_gguf(w, kGgufArch, hp_, cfg_.n_ff); }
};

}  // namespace

const Architecture& qwen3_architecture() {
  static const Architecture arch{"qwen3", {"Qwen3ForCausalLM"}, {kGgufArch},
                                 [](std::shared_ptr<const ModelFiles> f) { return load_family<Qwen3>(std::move(f), "qwen3"); },
                                 synthetic_family<Qwen3>};
  return arch;
}

}  // namespace qwenrt
