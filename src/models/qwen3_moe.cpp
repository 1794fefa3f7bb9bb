// Qwen3-MoE (Qwen3MoeForCausalLM; GGUF arch "qwen3moe"), MODELS.md section 3: Qwen3's attention
// with a sparse mixture of SwiGLU experts in place of the MLP (softmax over all experts, top-k,
// renormalised when norm_topk_prob). Layer l is MoE iff l is not in mlp_only_layers and
// (l + 1) % decoder_sparse_step == 0; other layers keep a dense MLP of intermediate_size.
// llama.cpp's qwen3moe supports only all-MoE layers with renormalisation; a GGUF qwenrt writes
// for another configuration marks dense layers by their missing router and carries
// expert_weights_norm, and only qwenrt reads it.
#include "base/log.h"
#include "io/gguf_writer.h"
#include "model/causal_lm.h"
#include "models/architecture.h"

#include <algorithm>

namespace qwenrt {
namespace {

constexpr const char* kGgufArch = "qwen3moe";

class Qwen3Moe final : public CausalLm {
 public:
  Qwen3Moe(const ConfigReader& cfg, WeightBinder& b) {
    hp_ = read_common_hparams(cfg, b);
    cfg_.n_embd = hp_.n_embd;
    cfg_.eps = hp_.eps;
    cfg_.attention = {static_cast<int>(hp_.n_head), static_cast<int>(hp_.n_head_kv), static_cast<int>(hp_.head_dim),
                      hp_.eps, /*gated=*/false};
    cfg_.n_ff = cfg.get_int_or({"intermediate_size", "feed_forward_length"}, 0, 0, 1 << 24);
    // transformers' Qwen3MoeConfig defaults norm_topk_prob to false; llama.cpp always renormalises.
    cfg_.moe = read_moe_config(cfg, /*default_norm_topk=*/cfg.is_gguf());
    const MoeConfig& m = cfg_.moe;
    const int64_t step = cfg.get_int_or({"decoder_sparse_step", ""}, 1, 1, 4096);
    const std::vector<int64_t> mlp_only = cfg.get_int_list({"mlp_only_layers", ""}).value_or(std::vector<int64_t>{});
    bind_embeddings(b);
    for (int il = 0; il < hp_.n_layer; ++il) {
      // GGUF: a layer is MoE when it has a router (llama.cpp's files always do).
      const bool moe = cfg.is_gguf() ? b.source_shape("blk." + std::to_string(il) + ".ffn_gate_inp.weight").has_value()
                                     : std::find(mlp_only.begin(), mlp_only.end(), il) == mlp_only.end() && (il + 1) % step == 0;
      if (!moe) {
        if (cfg_.n_ff <= 0) cfg.fail_key({"intermediate_size", "feed_forward_length"}, "is needed by the dense layers");
        has_dense_layers_ = true;
      }
      layers_.push_back(bind_decoder_layer(b, il, cfg_, /*full_attention=*/true, moe, "ffn_norm.weight"));
    }
    finish(b, "qwen3_moe", "Qwen3MoeForCausalLM", kGgufArch,
           {{"num_experts", std::to_string(m.n_expert)},
            {"num_experts_per_tok", std::to_string(m.n_expert_used)},
            {"moe_intermediate_size", std::to_string(m.n_ff)},
            {"norm_topk_prob", m.norm_topk ? "true" : "false"},
            {"dense_layers", has_dense_layers_ ? "yes (mlp_only_layers / decoder_sparse_step)" : "none"}});
  }

  void write_gguf_metadata(GgufWriter& w) const override {
    const std::string a = kGgufArch;
    write_common_gguf(w, a, hp_, cfg_.n_ff);
    write_moe_gguf(w, a, cfg_.moe);
    if (has_dense_layers_ || !cfg_.moe.norm_topk) {
      w.set(a + ".expert_weights_norm", GgufValue::boolean(cfg_.moe.norm_topk));
      log_warn("this model has dense layers or un-normalised top-k routing: llama.cpp's qwen3moe cannot load the GGUF file");
    }
  }

 private:
  bool has_dense_layers_ = false;
};

}  // namespace

const Architecture& qwen3_moe_architecture() {
  static const Architecture arch{"qwen3_moe", {"Qwen3MoeForCausalLM"}, {kGgufArch},
                                 [](std::shared_ptr<const ModelFiles> f) { return load_family<Qwen3Moe>(std::move(f), "qwen3_moe"); },
                                 synthetic_family<Qwen3Moe>};
  return arch;
}

}  // namespace qwenrt
