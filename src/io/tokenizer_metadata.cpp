#include "io/tokenizer_metadata.h"

#include "base/error.h"
#include "base/strings.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace qwenrt {
namespace fs = std::filesystem;
namespace {

nlohmann::json load_json(const fs::path& p) {
  const std::string text = read_file(p.string());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", p.string(), e.what());
  }
}

bool looks_special(const std::string& t) {
  // gguf-py does_token_look_special: "<|...|>" and a few model-specific spellings.
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || wrapped("<|", "|>") || wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") ||
         wrapped("<unused", ">");
}

// Merges as "a b" strings; the newer [a, b] pair form has spaces inside parts re-encoded as
// U+0120 (what the byte-level alphabet uses for a space), as gguf-py does.
std::vector<std::string> read_merges(const nlohmann::json& merges, const std::string& origin) {
  std::vector<std::string> out;
  out.reserve(merges.size());
  for (const auto& m : merges) {
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      std::string joined;
      for (int part = 0; part < 2; ++part) {
        if (part) joined += ' ';
        for (char c : m[part].get<std::string>()) {
          if (c == ' ') joined += "\xc4\xa0";
          else joined += c;
        }
      }
      out.push_back(std::move(joined));
    } else {
      fail("{}: model.merges entries must be strings or pairs of strings", origin);
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, GgufValue>> hf_tokenizer_metadata(const std::string& directory, int64_t vocab_size,
                                                                      const std::string& pre) {
  const fs::path dir(directory);
  const fs::path tok_path = dir / "tokenizer.json";
  if (!fs::exists(tok_path)) fail("{}: tokenizer.json is missing", directory);
  const nlohmann::json tok = load_json(tok_path);
  const std::string origin = tok_path.string();
  if (!tok.is_object() || !tok.contains("model") || !tok["model"].is_object()) fail("{}: 'model' is missing", origin);
  const auto& model = tok["model"];
  if (model.value("type", "") != "BPE") fail("{}: model.type must be 'BPE' (byte-level BPE)", origin);
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("{}: model.vocab is missing", origin);

  std::vector<std::string> tokens(static_cast<size_t>(vocab_size));
  std::vector<int64_t> types(static_cast<size_t>(vocab_size), static_cast<int64_t>(GgufTokenType::Unused));
  std::vector<bool> present(static_cast<size_t>(vocab_size), false);
  auto place = [&](int64_t id, const std::string& text, GgufTokenType type) {
    if (id < 0 || id >= vocab_size) {
      fail("{}: token '{}' has id {}, outside the model's vocab_size {}", origin, text, id, vocab_size);
    }
    tokens[static_cast<size_t>(id)] = text;
    types[static_cast<size_t>(id)] = static_cast<int64_t>(type);
    present[static_cast<size_t>(id)] = true;
  };
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it.value().is_number_integer()) fail("{}: model.vocab['{}'] is not an integer id", origin, it.key());
    place(it.value().get<int64_t>(), it.key(), GgufTokenType::Normal);
  }
  std::vector<std::pair<std::string, int64_t>> added;  // content -> id, in file order
  if (tok.contains("added_tokens")) {
    if (!tok["added_tokens"].is_array()) fail("{}: added_tokens is not an array", origin);
    for (const auto& a : tok["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string()) {
        fail("{}: added_tokens entries need an integer 'id' and a string 'content'", origin);
      }
      const std::string content = a["content"].get<std::string>();
      const bool special = a.value("special", false);
      place(a["id"].get<int64_t>(), content,
            special || looks_special(content) ? GgufTokenType::Control : GgufTokenType::UserDefined);
      added.emplace_back(content, a["id"].get<int64_t>());
    }
  }
  for (int64_t i = 0; i < vocab_size; ++i) {
    if (!present[static_cast<size_t>(i)]) tokens[static_cast<size_t>(i)] = fmt::format("[PAD{}]", i);
  }

  std::vector<std::pair<std::string, GgufValue>> kv;
  kv.emplace_back("tokenizer.ggml.model", GgufValue::string("gpt2"));
  kv.emplace_back("tokenizer.ggml.pre", GgufValue::string(pre));
  kv.emplace_back("tokenizer.ggml.tokens", GgufValue::string_array(std::move(tokens)));
  kv.emplace_back("tokenizer.ggml.token_type", GgufValue::int_array(GgufType::I32, std::move(types)));
  if (model.contains("merges") && model["merges"].is_array() && !model["merges"].empty()) {
    kv.emplace_back("tokenizer.ggml.merges", GgufValue::string_array(read_merges(model["merges"], origin)));
  }

  nlohmann::json tcfg = nlohmann::json::object();
  if (fs::exists(dir / "tokenizer_config.json")) tcfg = load_json(dir / "tokenizer_config.json");
  nlohmann::json cfg = nlohmann::json::object();
  if (fs::exists(dir / "config.json")) cfg = load_json(dir / "config.json");

  // gguf-py special-token types and the GGUF key each one is written under (its spelling).
  static const std::pair<const char*, const char*> kSpecial[] = {
      {"bos", "tokenizer.ggml.bos_token_id"},     {"eos", "tokenizer.ggml.eos_token_id"},
      {"unk", "tokenizer.ggml.unknown_token_id"}, {"sep", "tokenizer.ggml.seperator_token_id"},
      {"pad", "tokenizer.ggml.padding_token_id"}, {"cls", "tokenizer.ggml.cls_token_id"},
      {"mask", "tokenizer.ggml.mask_token_id"},
  };
  for (const auto& [typ, key] : kSpecial) {
    std::optional<int64_t> id;
    if (tcfg.is_object()) {
      const std::string field = std::string(typ) + "_token";
      std::string content;
      if (tcfg.contains(field) && tcfg[field].is_string()) content = tcfg[field].get<std::string>();
      if (tcfg.contains(field) && tcfg[field].is_object() && tcfg[field].contains("content") &&
          tcfg[field]["content"].is_string()) {
        content = tcfg[field]["content"].get<std::string>();
      }
      if (!content.empty()) {
        for (const auto& [text, tid] : added) {
          if (text == content) {
            id = tid;
            break;
          }
        }
      }
    }
    if (!id && cfg.is_object()) {
      const std::string field = std::string(typ) + "_token_id";
      const nlohmann::json* v = nullptr;
      if (cfg.contains(field)) v = &cfg[field];
      else if (cfg.contains("text_config") && cfg["text_config"].is_object() && cfg["text_config"].contains(field)) {
        v = &cfg["text_config"][field];
      }
      if (v && v->is_number_integer()) id = v->get<int64_t>();
    }
    if (id && *id >= 0 && *id < vocab_size) kv.emplace_back(key, GgufValue::u32(static_cast<uint32_t>(*id)));
  }
  for (const char* typ : {"bos", "eos"}) {
    const std::string field = std::string("add_") + typ + "_token";
    if (tcfg.is_object() && tcfg.contains(field) && tcfg[field].is_boolean()) {
      kv.emplace_back("tokenizer.ggml." + field, GgufValue::boolean(tcfg[field].get<bool>()));
    }
  }
  // The chat template: tokenizer_config's, else chat_template.jinja, else chat_template.json's.
  std::optional<std::string> chat_template;
  if (tcfg.is_object() && tcfg.contains("chat_template")) {
    const auto& ct = tcfg["chat_template"];
    if (ct.is_string()) {
      chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {
      for (const auto& named : ct) {
        if (!named.is_object() || !named.contains("template") || !named["template"].is_string()) continue;
        const std::string name = named.value("name", "");
        if (name == "default") chat_template = named["template"].get<std::string>();
        else kv.emplace_back("tokenizer.chat_template." + name, GgufValue::string(named["template"].get<std::string>()));
      }
    }
  }
  if (!chat_template && fs::exists(dir / "chat_template.jinja")) {
    chat_template = read_file((dir / "chat_template.jinja").string());
  }
  if (!chat_template && fs::exists(dir / "chat_template.json")) {
    const auto j = load_json(dir / "chat_template.json");
    if (j.is_object() && j.contains("chat_template") && j["chat_template"].is_string()) {
      chat_template = j["chat_template"].get<std::string>();
    }
  }
  if (chat_template) kv.emplace_back("tokenizer.chat_template", GgufValue::string(*chat_template));
  return kv;
}

}  // namespace qwenrt
