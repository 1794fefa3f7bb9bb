#include "model/hparams.h"

#include "base/error.h"
#include "io/gguf_writer.h"
#include "model/weight_binder.h"

#include <fmt/format.h>

namespace qwenrt {

CommonHparams read_common_hparams(const ConfigReader& cfg, const WeightBinder& b, int64_t gguf_extra_layers) {
  CommonHparams hp;
  hp.n_embd = cfg.get_int({"hidden_size", "embedding_length"}, 1, 1 << 20);
  hp.n_layer = cfg.get_int({"num_hidden_layers", "block_count"}, 1, 4096);
  if (cfg.is_gguf()) {
    hp.n_layer -= gguf_extra_layers;
    if (hp.n_layer < 1) fail("{}: block_count leaves no trunk layers besides {} MTP layers", cfg.origin(), gguf_extra_layers);
  }
  hp.n_head = cfg.get_int({"num_attention_heads", "attention.head_count"}, 1, 4096);
  hp.n_head_kv = cfg.get_int_or({"num_key_value_heads", "attention.head_count_kv"}, hp.n_head, 1, hp.n_head);
  if (hp.n_head % hp.n_head_kv != 0) {
    fail("{}: {} attention heads cannot be shared by {} key/value heads", cfg.origin(), hp.n_head, hp.n_head_kv);
  }
  hp.head_dim = cfg.get_int_or({"head_dim", "attention.key_length"}, hp.n_embd / hp.n_head, 2, 1 << 16);
  hp.n_ctx_train = cfg.get_int_or({"max_position_embeddings", "context_length"}, 0, 0, INT32_MAX);
  hp.eps = static_cast<float>(cfg.get_float({"rms_norm_eps", "attention.layer_norm_rms_epsilon"}));
  if (!(hp.eps > 0.0f)) cfg.fail_key({"rms_norm_eps", "attention.layer_norm_rms_epsilon"}, "must be positive");
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

void write_common_gguf(GgufWriter& w, const std::string& a, const CommonHparams& hp, int64_t n_ff, int64_t extra_layers) {
  auto u32 = [](int64_t v) { return GgufValue::u32(static_cast<uint32_t>(v)); };
  w.set(a + ".block_count", u32(hp.n_layer + extra_layers));
  if (hp.n_ctx_train > 0) w.set(a + ".context_length", u32(hp.n_ctx_train));
  w.set(a + ".embedding_length", u32(hp.n_embd));
  if (n_ff > 0) w.set(a + ".feed_forward_length", u32(n_ff));
  w.set(a + ".attention.head_count", u32(hp.n_head));
  w.set(a + ".attention.head_count_kv", u32(hp.n_head_kv));
  if (!hp.rope.mrope_sections.empty()) {
    std::vector<int64_t> sections = hp.rope.mrope_sections;
    sections.resize(4, 0);
    w.set(a + ".rope.dimension_sections", GgufValue::int_array(GgufType::I32, sections));
  }
  write_rope_metadata(w, a, hp.rope);
  w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(hp.eps));
  w.set(a + ".attention.key_length", u32(hp.head_dim));
  w.set(a + ".attention.value_length", u32(hp.head_dim));
}

std::vector<std::pair<std::string, std::string>> describe_common(const CommonHparams& hp) {
  std::vector<std::pair<std::string, std::string>> h = {
      {"vocab_size", fmt::format("{}", hp.n_vocab)},
      {"hidden_size", fmt::format("{}", hp.n_embd)},
      {"num_hidden_layers", fmt::format("{}", hp.n_layer)},
      {"num_attention_heads", fmt::format("{}", hp.n_head)},
      {"num_key_value_heads", fmt::format("{}", hp.n_head_kv)},
      {"head_dim", fmt::format("{}", hp.head_dim)},
      {"max_position_embeddings", fmt::format("{}", hp.n_ctx_train)},
      {"rms_norm_eps", fmt::format("{:g}", hp.eps)},
      {"rope_theta", fmt::format("{:g}", hp.rope.theta)},
      {"rope_dims", fmt::format("{}", hp.rope.n_rot)},
      {"tie_word_embeddings", hp.tied ? "true" : "false"}};
  if (hp.rope.scaling.type == RopeScaling::Type::Yarn) {
    h.emplace_back("rope_scaling",
                   fmt::format("yarn, factor {:g}, original context {}", hp.rope.scaling.factor, hp.rope.scaling.original_context));
  } else if (hp.rope.scaling.type == RopeScaling::Type::Linear) {
    h.emplace_back("rope_scaling", fmt::format("linear, factor {:g}", hp.rope.scaling.factor));
  }
  return h;
}

}  // namespace qwenrt
