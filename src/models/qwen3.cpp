// Qwen3 dense (Qwen3ForCausalLM; GGUF arch "qwen3"), ../shared/MODELS.md section 2:
// pre-norm decoder layers of grouped-query attention (per-head QK RMSNorm, NeoX RoPE over the
// whole head) and a SwiGLU MLP; final RMSNorm; LM head, or the embeddings when tied.
#include "base/error.h"
#include "base/log.h"
#include "io/config_reader.h"
#include "io/gguf_writer.h"
#include "model/attention.h"
#include "model/ffn.h"
#include "model/kv_state.h"
#include "model/ops.h"
#include "model/output_head.h"
#include "model/rope.h"
#include "model/weight_binder.h"
#include "models/architecture.h"

#include <fmt/format.h>

namespace qwenrt {
namespace {

constexpr const char* kGgufArch = "qwen3";

struct Hparams {
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0, n_ctx_train = 0;
  float eps = 1e-6f;
  bool tied = false;
  RopeConfig rope;
};

Hparams read_hparams(const ConfigReader& cfg, const WeightBinder& b) {
  Hparams hp;
  hp.n_embd = cfg.get_int({"hidden_size", "embedding_length"}, 1, 1 << 20);
  hp.n_layer = cfg.get_int({"num_hidden_layers", "block_count"}, 1, 4096);
  hp.n_head = cfg.get_int({"num_attention_heads", "attention.head_count"}, 1, 4096);
  hp.n_head_kv = cfg.get_int_or({"num_key_value_heads", "attention.head_count_kv"}, hp.n_head, 1, hp.n_head);
  if (hp.n_head % hp.n_head_kv != 0) {
    fail("{}: {} attention heads cannot be shared by {} key/value heads", cfg.origin(), hp.n_head, hp.n_head_kv);
  }
  hp.head_dim = cfg.get_int_or({"head_dim", "attention.key_length"}, hp.n_embd / hp.n_head, 2, 1 << 16);
  hp.n_ff = cfg.get_int({"intermediate_size", "feed_forward_length"}, 1, 1 << 24);
  hp.n_ctx_train = cfg.get_int_or({"max_position_embeddings", "context_length"}, 0, 0, INT32_MAX);
  hp.eps = static_cast<float>(cfg.get_float({"rms_norm_eps", "attention.layer_norm_rms_epsilon"}));
  hp.rope = parse_rope_config(cfg, hp.head_dim, hp.n_ctx_train);
  if (cfg.is_gguf()) {
    const auto embd = b.source_shape("token_embd.weight");
    if (!embd) fail("{}: missing tensor 'token_embd.weight'", cfg.origin());
    hp.n_vocab = embd->dims[0];
    hp.tied = !b.source_shape("output.weight");
  } else {
    hp.n_vocab = cfg.get_int({"vocab_size", ""}, 1, 1 << 24);
    hp.tied = cfg.get_bool_or({"tie_word_embeddings", ""}, false);
  }
  return hp;
}

std::string blk(int il, const char* name) { return fmt::format("blk.{}.{}", il, name); }

class Qwen3 final : public Model {
 public:
  Qwen3(const Hparams& hp, WeightBinder& b) : hp_(hp), rope_(compute_rope_frequencies(hp.rope)) {
    const int64_t H = hp.n_embd, q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
    attn_ = {static_cast<int>(hp.n_head), static_cast<int>(hp.n_head_kv), static_cast<int>(hp.head_dim), hp.eps, false};
    tok_embd_ = b.matrix("token_embd.weight", {hp.n_vocab, H});
    layers_.resize(static_cast<size_t>(hp.n_layer));
    for (int il = 0; il < hp.n_layer; ++il) {
      Layer& L = layers_[static_cast<size_t>(il)];
      L.attn_norm = b.norm(blk(il, "attn_norm.weight"), H);
      L.attn.wq = b.matrix(blk(il, "attn_q.weight"), {q_dim, H});
      L.attn.wk = b.matrix(blk(il, "attn_k.weight"), {kv_dim, H});
      L.attn.wv = b.matrix(blk(il, "attn_v.weight"), {kv_dim, H});
      L.attn.wo = b.matrix(blk(il, "attn_output.weight"), {H, q_dim});
      L.attn.q_norm = b.norm(blk(il, "attn_q_norm.weight"), hp.head_dim);
      L.attn.k_norm = b.norm(blk(il, "attn_k_norm.weight"), hp.head_dim);
      L.ffn_norm = b.norm(blk(il, "ffn_norm.weight"), H);
      L.ffn.gate = b.matrix(blk(il, "ffn_gate.weight"), {hp.n_ff, H});
      L.ffn.up = b.matrix(blk(il, "ffn_up.weight"), {hp.n_ff, H});
      L.ffn.down = b.matrix(blk(il, "ffn_down.weight"), {H, hp.n_ff});
    }
    output_norm_ = b.norm("output_norm.weight", H);
    output_ = b.optional_matrix("output.weight", {hp.n_vocab, H}, !hp.tied).value_or(tok_embd_);
    weights_ = b.store();
    describe();
  }

  std::unique_ptr<ModelState> new_state(const StateOptions& options) const override {
    return std::make_unique<KvState>(KvCache::Config{static_cast<int>(hp_.n_layer), attn_.n_head_kv, attn_.head_dim, 32,
                                                     options.max_bytes});
  }

  size_t state_bytes_per_token() const override {
    return static_cast<size_t>(hp_.n_layer * 2 * hp_.n_head_kv * hp_.head_dim) * sizeof(float);
  }

  void forward(const Batch& batch, ModelState& state, ForwardOutput& out, const ExecContext& ctx) const override {
    validate_batch(batch, hp_.n_vocab);
    KvCache& kv = static_cast<KvState&>(state).kv;
    const int64_t T = batch.size(), H = hp_.n_embd;
    const std::vector<int64_t> slot = kv.append(batch);
    const RopeTable rope(rope_, batch.positions.data(), T);
    std::vector<float> x(static_cast<size_t>(T * H)), cur(x.size()), branch(x.size());

    embed_rows(tok_embd_, batch.tokens.data(), T, x.data());
    ctx.trace("inp_embd", -1, x.data(), T, H);
    for (int il = 0; il < hp_.n_layer; ++il) {
      const Layer& L = layers_[static_cast<size_t>(il)];
      rms_norm(ctx, x.data(), L.attn_norm, T, H, hp_.eps, cur.data());
      ctx.trace("attn_norm", il, cur.data(), T, H);
      attention_forward(ctx, attn_, L.attn, rope, batch, slot, kv, il, cur.data(), branch.data(), il);
      ctx.trace("attn_out", il, branch.data(), T, H);
      add_in_place(x.data(), branch.data(), T * H);
      ctx.trace("ffn_inp", il, x.data(), T, H);

      rms_norm(ctx, x.data(), L.ffn_norm, T, H, hp_.eps, cur.data());
      ctx.trace("ffn_norm", il, cur.data(), T, H);
      dense_ffn_forward(ctx, L.ffn, cur.data(), T, branch.data(), il);
      ctx.trace("ffn_out", il, branch.data(), T, H);
      add_in_place(x.data(), branch.data(), T * H);
      ctx.trace("l_out", il, x.data(), T, H);
    }
    compute_logits(ctx, batch, x.data(), H, output_norm_, hp_.eps, output_, out);
  }

  void write_gguf_metadata(GgufWriter& w) const override {
    const std::string a = kGgufArch;
    w.set(a + ".block_count", GgufValue::u32(static_cast<uint32_t>(hp_.n_layer)));
    if (hp_.n_ctx_train > 0) w.set(a + ".context_length", GgufValue::u32(static_cast<uint32_t>(hp_.n_ctx_train)));
    w.set(a + ".embedding_length", GgufValue::u32(static_cast<uint32_t>(hp_.n_embd)));
    w.set(a + ".feed_forward_length", GgufValue::u32(static_cast<uint32_t>(hp_.n_ff)));
    w.set(a + ".attention.head_count", GgufValue::u32(static_cast<uint32_t>(hp_.n_head)));
    w.set(a + ".attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(hp_.n_head_kv)));
    write_rope_metadata(w, a, hp_.rope);
    w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(hp_.eps));
    w.set(a + ".attention.key_length", GgufValue::u32(static_cast<uint32_t>(hp_.head_dim)));
    w.set(a + ".attention.value_length", GgufValue::u32(static_cast<uint32_t>(hp_.head_dim)));
  }

 private:
  struct Layer {
    const float* attn_norm = nullptr;
    AttentionWeights attn;
    const float* ffn_norm = nullptr;
    DenseFfnWeights ffn;
  };

  void describe() {
    info_.arch = "qwen3";
    info_.hf_architecture = "Qwen3ForCausalLM";
    info_.gguf_architecture = kGgufArch;
    info_.n_vocab = hp_.n_vocab;
    info_.n_embd = hp_.n_embd;
    info_.n_layer = hp_.n_layer;
    info_.n_ctx_train = hp_.n_ctx_train;
    auto& h = info_.hparams;
    h = {{"vocab_size", fmt::format("{}", hp_.n_vocab)},
         {"hidden_size", fmt::format("{}", hp_.n_embd)},
         {"num_hidden_layers", fmt::format("{}", hp_.n_layer)},
         {"num_attention_heads", fmt::format("{}", hp_.n_head)},
         {"num_key_value_heads", fmt::format("{}", hp_.n_head_kv)},
         {"head_dim", fmt::format("{}", hp_.head_dim)},
         {"intermediate_size", fmt::format("{}", hp_.n_ff)},
         {"max_position_embeddings", fmt::format("{}", hp_.n_ctx_train)},
         {"rms_norm_eps", fmt::format("{:g}", hp_.eps)},
         {"rope_theta", fmt::format("{:g}", hp_.rope.theta)},
         {"rope_dims", fmt::format("{}", hp_.rope.n_rot)},
         {"tie_word_embeddings", hp_.tied ? "true" : "false"}};
    if (hp_.rope.scaling.type == RopeScaling::Type::Yarn) {
      h.emplace_back("rope_scaling", fmt::format("yarn, factor {:g}, original context {}", hp_.rope.scaling.factor,
                                                 hp_.rope.scaling.original_context));
    } else if (hp_.rope.scaling.type == RopeScaling::Type::Linear) {
      h.emplace_back("rope_scaling", fmt::format("linear, factor {:g}", hp_.rope.scaling.factor));
    }
  }

  Hparams hp_;
  RopeFrequencies rope_;
  AttentionConfig attn_;
  Weight tok_embd_;
  std::vector<Layer> layers_;
  const float* output_norm_ = nullptr;
  Weight output_;
};

std::unique_ptr<Model> build(const ConfigReader& cfg, WeightBinder& b) {
  const Hparams hp = read_hparams(cfg, b);
  return std::make_unique<Qwen3>(hp, b);
}

std::unique_ptr<Model> load(std::shared_ptr<const ModelFiles> files) {
  WeightBinder b(files, "model.");
  const ConfigReader cfg = files->format() == ModelFormat::Gguf ? ConfigReader::from_gguf(files->gguf(), kGgufArch)
                                                                 : ConfigReader::from_json(files->hf_config(), files->config_origin());
  auto model = build(cfg, b);
  for (const auto& name : b.unused()) log_warn("{}: tensor '{}' is not used by qwen3", files->path(), name);
  return model;
}

std::unique_ptr<Model> synthetic(const nlohmann::ordered_json& config, DType dtype, uint64_t seed, ThreadPool* pool) {
  WeightBinder b(dtype, seed, pool);
  return build(ConfigReader::from_json(config, "synthetic config"), b);
}

}  // namespace

const Architecture& qwen3_architecture() {
  static const Architecture arch{"qwen3", {"Qwen3ForCausalLM"}, {kGgufArch}, load, synthetic};
  return arch;
}

}  // namespace qwenrt
