// Qwen3.5, dense and MoE (Qwen3_5ForConditionalGeneration / Qwen3_5MoeForConditionalGeneration and
// their text-only *ForCausalLM forms; GGUF archs "qwen35", "qwen35moe"), MODELS.md section 5: the
// Qwen3-Next design with separate in_proj_qkv / z / b / a projections, layer types listed in
// the config, dense SwiGLU or MoE (always renormalised) feed-forward, interleaved M-RoPE (which
// text positions reduce to partial RoPE), text weights under model.language_model. and one MTP
// layer. The vision tower's weights are recognised and left unused.
// Value heads: HF groups them by key head, llama.cpp's GGUFs tile them; each source is used in
// its own order, and writing an HF checkpoint to GGUF applies llama.cpp's permutation.
#include "base/error.h"
#include "io/gguf_writer.h"
#include "model/causal_lm.h"
#include "models/architecture.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace qwenrt {
namespace {

class Qwen35 final : public CausalLm {
 public:
  Qwen35(const ConfigReader& cfg, WeightBinder& b) {
    const bool moe = cfg.has({"num_experts", "expert_count"});
    gguf_arch_ = moe ? "qwen35moe" : "qwen35";
    const int64_t n_mtp = cfg.get_int_or({"mtp_num_hidden_layers", "nextn_predict_layers"}, 0, 0, 16);
    if (n_mtp > 1) fail("{}: {} MTP layers: qwenrt supports one", cfg.origin(), n_mtp);
    hp_ = read_common_hparams(cfg, b, n_mtp);
    if (hp_.rope.mrope_sections.empty()) hp_.rope.mrope_sections = {11, 11, 10};  // the converter's default
    cfg_.n_embd = hp_.n_embd;
    cfg_.eps = hp_.eps;
    cfg_.norm_form = NormForm::ZeroCentred;
    cfg_.attention = {static_cast<int>(hp_.n_head), static_cast<int>(hp_.n_head_kv), static_cast<int>(hp_.head_dim),
                      hp_.eps, /*gated=*/true};
    cfg_.linear_attention = read_gdn_config(cfg, hp_.eps);
    cfg_.linear_attention.value_heads_tiled = cfg.is_gguf();
    if (moe) {
      cfg_.moe = read_moe_config(cfg, true);
      cfg_.moe.norm_topk = true;  // Qwen3.5-MoE always renormalises (its config has no such key)
    } else {
      cfg_.n_ff = cfg.get_int({"intermediate_size", "feed_forward_length"}, 1, 1 << 24);
    }
    const auto full = hybrid_full_attention_layers(cfg, hp_.n_layer, &interval_);
    b.set_layer_prefix([prefix = b.hf_prefix(), n = hp_.n_layer](int il) {
      return il < n ? prefix + "layers." + std::to_string(il) + "." : "mtp.layers." + std::to_string(il - n) + ".";
    });
    b.ignore([](const std::string& name) { return name.starts_with("model.visual.") || name.starts_with("visual."); });
    bind_embeddings(b);
    for (int il = 0; il < hp_.n_layer; ++il) {
      layers_.push_back(bind_decoder_layer(b, il, cfg_, full[static_cast<size_t>(il)], moe, "post_attention_norm.weight"));
      if (b.from_hf() && !full[static_cast<size_t>(il)]) set_tiled_export_order(*b.store(), il);
    }
    if (n_mtp > 0) bind_mtp(b, moe);
    const GdnConfig& g = cfg_.linear_attention;
    std::vector<std::pair<std::string, std::string>> extra = {
        {"layer_layout", fmt::format("{} linear attention + {} full attention", std::count(full.begin(), full.end(), false),
                                     std::count(full.begin(), full.end(), true))},
        {"linear_attention", fmt::format("{} key / {} value heads, d_k {}, d_v {}, conv kernel {}, value heads {}", g.n_k_heads,
                                         g.n_v_heads, g.d_k, g.d_v, g.conv_kernel, g.value_heads_tiled ? "tiled" : "grouped")},
        {"mrope_section", fmt::format("{}", fmt::join(hp_.rope.mrope_sections, ", "))},
        {"mtp_layers", std::to_string(n_mtp)}};
    if (moe) {
      extra.emplace_back("experts", fmt::format("{} routed ({} active, width {}) + shared (width {})", cfg_.moe.n_expert,
                                                cfg_.moe.n_expert_used, cfg_.moe.n_ff, cfg_.moe.n_ff_shared));
    } else {
      extra.emplace_back("intermediate_size", std::to_string(cfg_.n_ff));
    }
    finish(b, moe ? "qwen3_5_moe" : "qwen3_5", moe ? "Qwen3_5MoeForConditionalGeneration" : "Qwen3_5ForConditionalGeneration",
           gguf_arch_, std::move(extra));
  }

  void write_gguf_metadata(GgufWriter& w) const override {
    const int64_t n_mtp = mtp_ ? 1 : 0;
    write_common_gguf(w, gguf_arch_, hp_, cfg_.n_ff, n_mtp);
    if (cfg_.moe.n_expert > 0) write_moe_gguf(w, gguf_arch_, cfg_.moe);
    write_gdn_gguf(w, gguf_arch_, cfg_.linear_attention, interval_);
    w.set(gguf_arch_ + ".rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(hp_.rope.n_rot)));
    if (n_mtp) w.set(gguf_arch_ + ".nextn_predict_layers", GgufValue::u32(static_cast<uint32_t>(n_mtp)));
  }

  std::string gguf_tokenizer_pre() const override { return "qwen35"; }

 private:
  // llama.cpp's converter reorders value heads from grouped (head g r + i of key head g) to tiled
  // (head i Hk + g) in every value-indexed tensor; record that permutation for GGUF export.
  void set_tiled_export_order(WeightStore& store, int il) const {
    const GdnConfig& c = cfg_.linear_attention;
    const int64_t Hk = c.n_k_heads, Hv = c.n_v_heads, r = Hv / Hk, dv = c.d_v;
    if (r == 1) return;
    std::vector<int64_t> heads(static_cast<size_t>(Hv));  // tiled position -> grouped head
    for (int64_t t = 0; t < Hv; ++t) heads[static_cast<size_t>(t)] = (t % Hk) * r + t / Hk;
    auto value_rows = [&](int64_t first) {
      std::vector<int64_t> rows;
      for (int64_t i = 0; i < first; ++i) rows.push_back(i);
      for (int64_t h : heads) {
        for (int64_t e = 0; e < dv; ++e) rows.push_back(first + h * dv + e);
      }
      return rows;
    };
    const std::string blk = "blk." + std::to_string(il) + ".";
    store.set_export_permutation(blk + "attn_qkv.weight", {value_rows(2 * c.key_dim()), 0, {}});
    store.set_export_permutation(blk + "ssm_conv1d.weight", {value_rows(2 * c.key_dim()), 0, {}});
    store.set_export_permutation(blk + "attn_gate.weight", {value_rows(0), 0, {}});
    store.set_export_permutation(blk + "ssm_beta.weight", {heads, 0, {}});
    store.set_export_permutation(blk + "ssm_alpha.weight", {heads, 0, {}});
    store.set_export_permutation(blk + "ssm_a", {{}, 1, heads});
    store.set_export_permutation(blk + "ssm_dt.bias", {{}, 1, heads});
    store.set_export_permutation(blk + "ssm_out.weight", {{}, dv, heads});
  }

  std::string gguf_arch_;
  int64_t interval_ = 4;
};

}  // namespace

const Architecture& qwen3_5_architecture() {
  static const Architecture arch{
      "qwen3_5",
      {"Qwen3_5ForConditionalGeneration", "Qwen3_5MoeForConditionalGeneration", "Qwen3_5ForCausalLM", "Qwen3_5MoeForCausalLM"},
      {"qwen35", "qwen35moe"},
      [](std::shared_ptr<const ModelFiles> f) { return load_family<Qwen35>(std::move(f), "qwen3_5"); },
      synthetic_family<Qwen35>};
  return arch;
}

}  // namespace qwenrt
