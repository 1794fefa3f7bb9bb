#pragma once
// Typed, checked access to hyperparameters, from either a Hugging Face config.json (or one of
// its sub-objects such as text_config) or GGUF metadata (keys prefixed with the architecture).
// A model file names each hyperparameter once with both spellings, e.g.
//   n_layer = cfg.get_int({"num_hidden_layers", "block_count"}, 1, 4096);
// and every failure names the file, the key, and what was expected versus found.
#include "io/gguf.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt {

struct ConfigKey {
  std::string_view hf;    // key in config.json; empty when the format has no such key
  std::string_view gguf;  // GGUF key without the "{arch}." prefix ("general.*" keys are absolute)
};

class ConfigReader {
 public:
  static ConfigReader from_json(const nlohmann::ordered_json& object, std::string origin);
  static ConfigReader from_gguf(const GgufFile& file, std::string arch);

  bool is_gguf() const { return gguf_ != nullptr; }
  const std::string& origin() const { return origin_; }
  bool has(ConfigKey key) const;

  int64_t get_int(ConfigKey key, int64_t min, int64_t max) const;
  int64_t get_int_or(ConfigKey key, int64_t fallback, int64_t min, int64_t max) const;
  double get_float(ConfigKey key) const;
  double get_float_or(ConfigKey key, double fallback) const;
  bool get_bool_or(ConfigKey key, bool fallback) const;
  std::string get_string_or(ConfigKey key, std::string fallback) const;
  std::optional<std::vector<int64_t>> get_int_list(ConfigKey key) const;

  // Raw access for nested structures (rope_scaling objects, layer_types lists).
  const nlohmann::ordered_json* json_value(std::string_view key) const;
  const GgufValue* gguf_value(std::string_view key) const;
  // A reader over a nested JSON object (e.g. "text_config"); throws when it is not an object.
  ConfigReader sub_object(std::string_view key) const;

  [[noreturn]] void fail_key(ConfigKey key, const std::string& why) const;

 private:
  std::string full_key(ConfigKey key) const;
  const nlohmann::ordered_json* json_ = nullptr;
  const GgufFile* gguf_ = nullptr;
  std::string arch_;
  std::string origin_;
};

}  // namespace qwenrt
