#pragma once
// The text side of a model: its tokenizer, chat template and special tokens, from whichever
// place the model keeps them: a Hugging Face directory (tokenizer.json, tokenizer_config.json,
// chat_template.jinja, config.json, generation_config.json), a directory holding only tokenizer
// files, or a GGUF file's tokenizer.* metadata. Both sources give the same tokenizer.
#include "text/tokenizer.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qwenrt {

struct TextAssets {
  std::shared_ptr<text::Tokenizer> tokenizer;
  std::optional<std::string> chat_template;  // Jinja source, when the model ships one
  std::string bos_token, eos_token, pad_token;  // their text ("" when undefined)
  std::vector<int32_t> eos_ids;  // end-of-generation ids: declared ones plus <|im_end|> / <|endoftext|> when present
};

// `vocab_size`: the model's embedding rows when known (0: read config.json, else the token count).
TextAssets load_text_assets(const std::string& path, int64_t vocab_size = 0);

}  // namespace qwenrt
