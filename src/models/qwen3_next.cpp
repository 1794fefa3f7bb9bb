// Qwen3-Next (Qwen3NextForCausalLM; GGUF arch "qwen3next"), MODELS.md section 4: hybrid layers,
// three Gated DeltaNet layers to one gated full-attention layer (every full_attention_interval-th),
// all with a mixture of experts plus a sigmoid-gated shared expert; zero-centred RMSNorms
// ((1 + w) * x_hat, except the DeltaNet's gated norm); attention with partial NeoX RoPE and an
// output gate from the doubled q projection; value heads grouped by key head; one MTP layer.
// llama.cpp's converter drops the MTP layer, so GGUF files (ours too) carry none.
#include "io/gguf_writer.h"
#include "model/causal_lm.h"
#include "models/architecture.h"

#include <fmt/format.h>

#include <algorithm>

namespace qwenrt {
namespace {

constexpr const char* kGgufArch = "qwen3next";

class Qwen3Next final : public CausalLm {
 public:
  Qwen3Next(const ConfigReader& cfg, WeightBinder& b) {
    hp_ = read_common_hparams(cfg, b);
    cfg_.n_embd = hp_.n_embd;
    cfg_.eps = hp_.eps;
    cfg_.norm_form = NormForm::ZeroCentred;
    cfg_.n_ff = cfg.get_int_or({"intermediate_size", "feed_forward_length"}, 0, 0, 1 << 24);
    cfg_.attention = {static_cast<int>(hp_.n_head), static_cast<int>(hp_.n_head_kv), static_cast<int>(hp_.head_dim),
                      hp_.eps, /*gated=*/true};
    cfg_.linear_attention = read_gdn_config(cfg, hp_.eps);
    cfg_.linear_attention.fused_ba = true;
    cfg_.moe = read_moe_config(cfg, /*default_norm_topk=*/true);
    const auto full = hybrid_full_attention_layers(cfg, hp_.n_layer, &interval_);
    const int64_t step = cfg.get_int_or({"decoder_sparse_step", ""}, 1, 1, 4096);
    const std::vector<int64_t> mlp_only = cfg.get_int_list({"mlp_only_layers", ""}).value_or(std::vector<int64_t>{});
    b.set_layer_prefix([prefix = b.hf_prefix(), n = hp_.n_layer](int il) {
      return il < n ? prefix + "layers." + std::to_string(il) + "." : "mtp.layers." + std::to_string(il - n) + ".";
    });
    bind_embeddings(b);
    for (int il = 0; il < hp_.n_layer; ++il) {
      const bool moe = std::find(mlp_only.begin(), mlp_only.end(), il) == mlp_only.end() && (il + 1) % step == 0;
      if (!moe && cfg_.n_ff <= 0) cfg.fail_key({"intermediate_size", "feed_forward_length"}, "is needed by the dense layers");
      layers_.push_back(bind_decoder_layer(b, il, cfg_, full[static_cast<size_t>(il)], moe, "post_attention_norm.weight"));
    }
    if (b.synthetic() || b.has_source("mtp.fc.weight")) bind_mtp(b, /*moe=*/true);
    const GdnConfig& g = cfg_.linear_attention;
    finish(b, "qwen3_next", "Qwen3NextForCausalLM", kGgufArch,
           {{"layer_layout", fmt::format("{} linear attention + {} full attention (interval {})",
                                         std::count(full.begin(), full.end(), false), std::count(full.begin(), full.end(), true),
                                         interval_)},
            {"linear_attention", fmt::format("{} key / {} value heads, d_k {}, d_v {}, conv kernel {}", g.n_k_heads, g.n_v_heads,
                                             g.d_k, g.d_v, g.conv_kernel)},
            {"experts", fmt::format("{} routed ({} active, width {}) + shared (width {})", cfg_.moe.n_expert,
                                    cfg_.moe.n_expert_used, cfg_.moe.n_ff, cfg_.moe.n_ff_shared)},
            {"mtp_layers", mtp_ ? "1" : "0"}});
  }

  void write_gguf_metadata(GgufWriter& w) const override {
    write_common_gguf(w, kGgufArch, hp_, cfg_.n_ff);
    write_moe_gguf(w, kGgufArch, cfg_.moe);
    write_gdn_gguf(w, kGgufArch, cfg_.linear_attention, interval_);
    w.set(std::string(kGgufArch) + ".rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(hp_.rope.n_rot)));
  }

  bool exports_tensor(const std::string& name) const override {
    return !name.starts_with("blk." + std::to_string(hp_.n_layer) + ".");  // the MTP layer
  }

 private:
  int64_t interval_ = 4;
};

}  // namespace

const Architecture& qwen3_next_architecture() {
  static const Architecture arch{"qwen3_next", {"Qwen3NextForCausalLM"}, {kGgufArch},
                                 [](std::shared_ptr<const ModelFiles> f) { return load_family<Qwen3Next>(std::move(f), "qwen3_next"); },
                                 synthetic_family<Qwen3Next>};
  return arch;
}

}  // namespace qwenrt
