#include "models/registry.h"

#include "base/error.h"
#include "base/log.h"
#include "base/strings.h"
#include "io/model_files.h"
#include "tensor/quant.h"

#include <filesystem>

namespace qwenrt {
namespace {

void add_ids(const nlohmann::ordered_json& v, std::vector<int32_t>& ids) {
  auto add = [&](const nlohmann::ordered_json& e) {
    if (e.is_number_integer() && e.get<int64_t>() >= 0 && e.get<int64_t>() <= INT32_MAX) {
      const auto id = static_cast<int32_t>(e.get<int64_t>());
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
  };
  if (v.is_array()) {
    for (const auto& e : v) add(e);
  } else {
    add(v);
  }
}

// End-of-generation ids the model declares: generation_config.json and config.json
// eos_token_id (an id or a list), or GGUF tokenizer.ggml.{eos,eot,eom}_token_id.
std::vector<int32_t> declared_eos_ids(const ModelFiles& files) {
  std::vector<int32_t> ids;
  if (files.format() == ModelFormat::Gguf) {
    for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
      const GgufValue* v = files.gguf().find(key);
      if (v && v->is_integer() && v->i >= 0 && v->i <= INT32_MAX) {
        const auto id = static_cast<int32_t>(v->i);
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
    }
    return ids;
  }
  const auto gen = std::filesystem::path(files.directory()) / "generation_config.json";
  if (std::filesystem::exists(gen)) {
    try {
      const auto j = nlohmann::ordered_json::parse(read_file(gen.string()));
      if (j.is_object() && j.contains("eos_token_id")) add_ids(j["eos_token_id"], ids);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: invalid JSON: {}", gen.string(), e.what());
    }
  }
  const auto& cfg = files.hf_config();
  if (cfg.contains("eos_token_id")) add_ids(cfg["eos_token_id"], ids);
  if (cfg.contains("text_config") && cfg["text_config"].is_object() && cfg["text_config"].contains("eos_token_id")) {
    add_ids(cfg["text_config"]["eos_token_id"], ids);
  }
  return ids;
}

std::string supported_list(bool gguf) {
  std::string s;
  for (const Architecture* a : architectures()) {
    for (std::string_view n : gguf ? a->gguf_architectures : a->hf_architectures) {
      if (!s.empty()) s += ", ";
      s += n;
    }
  }
  return s;
}

struct Preset {
  const char* name;
  const Architecture& (*arch)();
  int default_layers;  // 0: the real depth; MoE shapes default to a few layers to fit in memory
  const char* config;
};

// Real shapes (MODELS.md section 8) as Hugging Face configs. The MoE presets keep every width,
// expert count and the hybrid 3:1 layout, but default to 4 layers (one full-attention layer in
// the hybrids): per-layer cost is realistic, the total fits a 24 GB machine in BF16.
const Preset kPresets[] = {
    {"qwen3-0.6b", qwen3_architecture, 0,
     R"({"architectures": ["Qwen3ForCausalLM"], "vocab_size": 151936, "hidden_size": 1024,
         "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
         "intermediate_size": 3072, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6,
         "rope_theta": 1000000.0, "tie_word_embeddings": true})"},
    {"qwen3-30b-a3b", qwen3_moe_architecture, 4,
     R"({"architectures": ["Qwen3MoeForCausalLM"], "vocab_size": 151936, "hidden_size": 2048,
         "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128,
         "intermediate_size": 6144, "moe_intermediate_size": 768, "num_experts": 128, "num_experts_per_tok": 8,
         "norm_topk_prob": true, "decoder_sparse_step": 1, "mlp_only_layers": [],
         "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": false})"},
    {"qwen3-next-80b-a3b", qwen3_next_architecture, 4,
     R"({"architectures": ["Qwen3NextForCausalLM"], "vocab_size": 151936, "hidden_size": 2048,
         "num_hidden_layers": 48, "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 256,
         "intermediate_size": 5120, "moe_intermediate_size": 512, "shared_expert_intermediate_size": 512,
         "num_experts": 512, "num_experts_per_tok": 10, "norm_topk_prob": true,
         "linear_num_key_heads": 16, "linear_num_value_heads": 32, "linear_key_head_dim": 128,
         "linear_value_head_dim": 128, "linear_conv_kernel_dim": 4, "full_attention_interval": 4,
         "partial_rotary_factor": 0.25, "max_position_embeddings": 262144, "rms_norm_eps": 1e-6,
         "rope_theta": 5000000.0, "tie_word_embeddings": false})"},
    {"qwen3.5-35b-a3b", qwen3_5_architecture, 4,
     R"({"architectures": ["Qwen3_5MoeForCausalLM"], "vocab_size": 248320, "hidden_size": 2048,
         "num_hidden_layers": 40, "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 256,
         "moe_intermediate_size": 512, "shared_expert_intermediate_size": 512, "num_experts": 256,
         "num_experts_per_tok": 8, "linear_num_key_heads": 16, "linear_num_value_heads": 32,
         "linear_key_head_dim": 128, "linear_value_head_dim": 128, "linear_conv_kernel_dim": 4,
         "full_attention_interval": 4, "mtp_num_hidden_layers": 0, "max_position_embeddings": 262144,
         "rms_norm_eps": 1e-6, "tie_word_embeddings": false,
         "rope_parameters": {"rope_type": "default", "rope_theta": 10000000.0, "partial_rotary_factor": 0.25,
                             "mrope_section": [11, 11, 10], "mrope_interleaved": true}})"},
};

}  // namespace

std::string hf_text_prefix(const ModelFiles& files) {
  return files.find("model.language_model.embed_tokens.weight") ? "model.language_model." : "model.";
}

ConfigReader family_config(const ModelFiles& files) {
  if (files.format() == ModelFormat::Gguf) return ConfigReader::from_gguf(files.gguf(), files.architecture());
  const ConfigReader top = ConfigReader::from_json(files.hf_config(), files.config_origin());
  return files.hf_config().contains("text_config") ? top.sub_object("text_config") : top;
}

void warn_unused(const WeightBinder& b, const std::string& path, std::string_view family) {
  const auto unused = b.unused();
  for (size_t i = 0; i < unused.size() && i < 8; ++i) log_warn("{}: tensor '{}' is not used by {}", path, unused[i], family);
  if (unused.size() > 8) log_warn("{}: ... and {} more unused tensors", path, unused.size() - 8);
}

const std::vector<const Architecture*>& architectures() {
  static const std::vector<const Architecture*> list = {&qwen3_architecture(), &qwen3_moe_architecture(), &qwen3_next_architecture(),
                                                                &qwen3_5_architecture()};
  return list;
}

std::unique_ptr<Model> load_model(const std::string& path, LoadMode mode) {
  auto files = ModelFiles::open(path, mode);
  const bool gguf = files->format() == ModelFormat::Gguf;
  const std::string name = files->architecture();
  for (const Architecture* a : architectures()) {
    for (std::string_view n : gguf ? a->gguf_architectures : a->hf_architectures) {
      if (n != name) continue;
      auto model = a->load(files);
      model->set_source(path);
      model->set_eos_ids(declared_eos_ids(*files));
      return model;
    }
  }
  fail("{}: unknown architecture '{}' (qwenrt runs {})", files->config_origin(), name, supported_list(gguf));
}

std::unique_ptr<Model> make_synthetic_model(const std::string& preset, DType dtype, uint64_t seed, ThreadPool* pool,
                                            int layers) {
  if (!has_quantizer(dtype)) fail("synthetic models: qwenrt cannot write {} weights", dtype_name(dtype));
  for (const Preset& p : kPresets) {
    if (preset != p.name) continue;
    auto config = nlohmann::ordered_json::parse(p.config);
    if (layers <= 0) layers = p.default_layers;
    if (layers > 0) config["num_hidden_layers"] = layers;
    auto model = p.arch().synthetic(config, dtype, seed, pool);
    model->set_source(fmt::format("synthetic:{} ({}, {} layers)", preset, dtype_name(dtype),
                                  config["num_hidden_layers"].get<int>()));
    return model;
  }
  std::string names;
  for (const Preset& p : kPresets) names += std::string(names.empty() ? "" : ", ") + p.name;
  fail("unknown synthetic model '{}' (available: {})", preset, names);
}

std::vector<std::string> synthetic_presets() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.emplace_back(p.name);
  return names;
}

}  // namespace qwenrt
