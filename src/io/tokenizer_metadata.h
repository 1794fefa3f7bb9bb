#pragma once
// The tokenizer.* GGUF metadata llama.cpp's converter writes for a byte-level BPE ("gpt2")
// tokenizer, built from a Hugging Face directory's tokenizer.json, tokenizer_config.json and
// config.json (gguf-py SpecialVocab semantics: special ids from tokenizer_config's *_token
// strings first, then config.json's *_token_id for types still unset).
#include "io/gguf.h"

#include <string>
#include <utility>
#include <vector>

namespace qwenrt {

// token_type values of tokenizer.ggml.token_type
enum class GgufTokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

// `vocab_size` is the model's (embedding rows); ids the tokenizer lacks become "[PAD{id}]" UNUSED
// entries. `pre` is the pre-tokenizer name ("qwen2", "qwen35").
std::vector<std::pair<std::string, GgufValue>> hf_tokenizer_metadata(const std::string& directory, int64_t vocab_size,
                                                                      const std::string& pre);

}  // namespace qwenrt
