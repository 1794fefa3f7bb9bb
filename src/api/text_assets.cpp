#include "api/text_assets.h"

#include "base/error.h"
#include "base/strings.h"
#include "io/gguf.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

namespace qwenrt {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::ordered_json;

json read_json(const fs::path& p) {
  try {
    return json::parse(read_file(p.string()));
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", p.string(), e.what());
  }
}

// A *_token entry of tokenizer_config.json: a string or {"content": ...}.
std::string token_text(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return "";
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

void add_id(std::vector<int32_t>& ids, int64_t id) {
  if (id >= 0 && id <= INT32_MAX && std::find(ids.begin(), ids.end(), static_cast<int32_t>(id)) == ids.end()) {
    ids.push_back(static_cast<int32_t>(id));
  }
}

void add_ids(std::vector<int32_t>& ids, const json& v) {
  if (v.is_number_integer()) add_id(ids, v.get<int64_t>());
  if (v.is_array()) {
    for (const auto& e : v) {
      if (e.is_number_integer()) add_id(ids, e.get<int64_t>());
    }
  }
}

// Qwen's chat format ends a turn with <|im_end|>; <|endoftext|> ends a document. Generation stops
// on both even when a config names only one (as llama.cpp and vLLM do).
void add_chatml_eos(TextAssets& a) {
  for (const char* t : {"<|im_end|>", "<|endoftext|>"}) {
    if (auto id = a.tokenizer->find_token(t)) add_id(a.eos_ids, *id);
  }
}

TextAssets from_directory(const fs::path& dir, int64_t vocab_size) {
  TextAssets a;
  const fs::path tok = dir / "tokenizer.json";
  if (!fs::exists(tok)) fail("{}: no tokenizer.json (qwenrt reads Hugging Face tokenizer.json files)", dir.string());
  json config = json::object();
  if (fs::exists(dir / "config.json")) config = read_json(dir / "config.json");
  if (vocab_size <= 0 && config.is_object()) {
    const json* c = config.contains("text_config") ? &config["text_config"] : &config;
    if (c->contains("vocab_size") && (*c)["vocab_size"].is_number_integer()) vocab_size = (*c)["vocab_size"].get<int64_t>();
  }
  a.tokenizer = text::Tokenizer::from_hf_json(tok.string(), vocab_size);
  json tcfg = json::object();
  if (fs::exists(dir / "tokenizer_config.json")) tcfg = read_json(dir / "tokenizer_config.json");
  if (tcfg.is_object()) {
    a.bos_token = token_text(tcfg, "bos_token");
    a.eos_token = token_text(tcfg, "eos_token");
    a.pad_token = token_text(tcfg, "pad_token");
    if (tcfg.contains("chat_template")) {
      const json& ct = tcfg["chat_template"];
      if (ct.is_string()) a.chat_template = ct.get<std::string>();
      if (ct.is_array()) {
        for (const auto& named : ct) {
          if (named.is_object() && named.value("name", "") == "default" && named.contains("template") && named["template"].is_string()) {
            a.chat_template = named["template"].get<std::string>();
          }
        }
      }
    }
  }
  // As in transformers, a separate chat_template.jinja takes priority over the config's entry.
  if (fs::exists(dir / "chat_template.jinja")) a.chat_template = read_file((dir / "chat_template.jinja").string());
  if (!a.chat_template && fs::exists(dir / "chat_template.json")) {
    const json j = read_json(dir / "chat_template.json");
    if (j.is_object() && j.contains("chat_template") && j["chat_template"].is_string()) a.chat_template = j["chat_template"].get<std::string>();
  }
  if (fs::exists(dir / "generation_config.json")) {
    const json g = read_json(dir / "generation_config.json");
    if (g.is_object() && g.contains("eos_token_id")) add_ids(a.eos_ids, g["eos_token_id"]);
  }
  if (config.is_object() && config.contains("eos_token_id")) add_ids(a.eos_ids, config["eos_token_id"]);
  if (!a.eos_token.empty()) {
    if (auto id = a.tokenizer->find_token(a.eos_token)) add_id(a.eos_ids, *id);
  }
  add_chatml_eos(a);
  return a;
}

TextAssets from_gguf(const std::string& path, int64_t vocab_size) {
  const GgufFile g = GgufFile::open(path);
  auto get = [&](const char* key) { return g.find(key); };
  const GgufValue* model = get("tokenizer.ggml.model");
  if (!model || model->type != GgufType::STRING) fail("{}: no tokenizer in the file (tokenizer.ggml.model is missing)", path);
  if (model->s != "gpt2") fail("{}: tokenizer.ggml.model '{}' is not supported (gpt2, byte-level BPE, is)", path, model->s);
  const GgufValue* tokens = get("tokenizer.ggml.tokens");
  if (!tokens || tokens->type != GgufType::ARRAY || tokens->arr.elem != GgufType::STRING) {
    fail("{}: tokenizer.ggml.tokens is missing or not an array of strings", path);
  }
  const auto& list = tokens->arr.strings;
  const GgufValue* types = get("tokenizer.ggml.token_type");
  if (types && (types->type != GgufType::ARRAY || types->arr.ints.size() != list.size())) {
    fail("{}: tokenizer.ggml.token_type does not match tokenizer.ggml.tokens", path);
  }
  text::TokenizerBuilder builder(path);
  builder.reserve(list.size(), 0);
  builder.set_vocab_size(std::max<int64_t>(vocab_size, static_cast<int64_t>(list.size())));
  for (size_t id = 0; id < list.size(); ++id) {
    const int64_t type = types ? types->arr.ints[id] : 1;
    if (type == 3 || type == 4) {  // CONTROL (special), USER_DEFINED: added tokens, matched in raw text
      builder.add_added_token({list[id], static_cast<int32_t>(id), type == 3, false, false});
    } else if (type != 5) {  // 5 = UNUSED: padding rows with no token
      builder.add_token(list[id], static_cast<int32_t>(id));
    }
  }
  if (const GgufValue* merges = get("tokenizer.ggml.merges")) {
    if (merges->type != GgufType::ARRAY || merges->arr.elem != GgufType::STRING) fail("{}: tokenizer.ggml.merges is not an array of strings", path);
    for (const auto& m : merges->arr.strings) {
      const size_t sp = m.find(' ');
      if (sp == std::string::npos) fail("{}: merge '{}' is not two tokens separated by a space", path, m);
      builder.add_merge(std::string_view(m).substr(0, sp), std::string_view(m).substr(sp + 1));
    }
  }
  const GgufValue* pre = get("tokenizer.ggml.pre");
  builder.set_pre_tokenizer(text::PreTokenizer::from_gguf_pre(pre && pre->type == GgufType::STRING ? pre->s : "qwen2"));
  builder.set_nfc(true);  // Qwen's tokenizer.json normalizes with NFC; GGUF does not record it
  TextAssets a;
  a.tokenizer = builder.build();
  if (const GgufValue* ct = get("tokenizer.chat_template"); ct && ct->type == GgufType::STRING) a.chat_template = ct->s;
  auto token_of = [&](const char* key) -> std::string {
    const GgufValue* v = get(key);
    if (!v || !v->is_integer() || v->i < 0 || v->i >= static_cast<int64_t>(list.size())) return "";
    return list[static_cast<size_t>(v->i)];
  };
  a.bos_token = token_of("tokenizer.ggml.bos_token_id");
  a.eos_token = token_of("tokenizer.ggml.eos_token_id");
  a.pad_token = token_of("tokenizer.ggml.padding_token_id");
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
    if (const GgufValue* v = get(key); v && v->is_integer()) add_id(a.eos_ids, v->i);
  }
  add_chatml_eos(a);
  return a;
}

}  // namespace

TextAssets load_text_assets(const std::string& path, int64_t vocab_size) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return from_directory(path, vocab_size);
  if (!fs::exists(path, ec)) fail("{}: no such file or directory", path);
  return from_gguf(path, vocab_size);
}

}  // namespace qwenrt
