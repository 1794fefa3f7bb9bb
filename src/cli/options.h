#pragma once
// Options several subcommands share, registered the same way everywhere.
#include "api/runtime.h"
#include "engine/sampler.h"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace qwenrt::cli {

// --load-mode's help text and check, shared with `bench`.
CLI::Option* add_load_mode(CLI::App& app, std::string& slot);

// --kv-type f32|f16, shared with `bench`; and its value as a DType (the option's check admits no other).
CLI::Option* add_kv_type(CLI::App& app, std::string& slot);
inline DType kv_type_of(const std::string& name) { return name == "f16" ? DType::F16 : DType::F32; }

struct ModelOptions {
  std::string model;
  int threads = 0;
  std::string load_mode = "auto";
  std::string kv_type = "f32";
  void add(CLI::App& app, bool positional = false);
  RuntimeOptions runtime() const { return RuntimeOptions{threads, parse_load_mode(load_mode)}; }
  DType kv_dtype() const { return kv_type_of(kv_type); }
};

// The sampling flags of every subcommand that generates, each unset unless given, so that a
// command can lay them over its own defaults (greedy for `generate`, the model's for `run`).
struct SamplingFlags {
  std::optional<float> temperature, top_p, min_p, presence_penalty, frequency_penalty, repeat_penalty;
  std::optional<int> top_k, max_tokens;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;

  void add(CLI::App& app);
  SamplingParams over(SamplingParams base) const;
  // `/set KEY VALUE` in the interactive chat: false for an unknown key, Error for a bad value.
  bool set(const std::string& key, const std::string& value);
  static const char* keys();  // for help texts
};

// "1,2,3" -> token ids (range checks happen in the model, which knows its vocabulary).
std::vector<int32_t> parse_tokens(const std::string& text);

}  // namespace qwenrt::cli
