#include "cli/options.h"

#include "base/error.h"
#include "base/strings.h"

#include <charconv>

namespace qwenrt::cli {

void ModelOptions::add(CLI::App& app, bool positional) {
  app.add_option("-m,--model", model, "Model: a Hugging Face directory or a .gguf file")->required(!positional);
  if (positional) app.add_option("model_path", model, "Model (same as --model)");
  app.add_option("-t,--threads", threads, "Threads (default: one per available core)")->check(CLI::NonNegativeNumber);
  add_load_mode(app, load_mode);
  add_kv_type(app, kv_type);
}

CLI::Option* add_kv_type(CLI::App& app, std::string& slot) {
  return app
      .add_option("--kv-type", slot,
                  "Element type of the attention layers' KV cache: 'f32' (exact), or 'f16' (half the memory, and half the "
                  "bytes a decode step reads at long context; keys and values rounded to f16 as llama.cpp's default cache)")
      ->check(CLI::IsMember({"f32", "f16"}))
      ->capture_default_str();
}

CLI::Option* add_load_mode(CLI::App& app, std::string& slot) {
  return app
      .add_option("--load-mode", slot,
                  "How the weights are held: 'copy' reads them into memory on 2 MiB pages (decode streams them faster), "
                  "'map' memory-maps the files (shared, and a model larger than memory still runs), 'auto' copies "
                  "when they take at most half of the available memory")
      ->check(CLI::IsMember({"auto", "map", "copy"}))
      ->capture_default_str();
}

void SamplingFlags::add(CLI::App& app) {
  auto f = [&](const char* names, std::optional<float>& slot, const char* help) {
    app.add_option_function<float>(names, [&slot](const float& v) { slot = v; }, help);
  };
  f("--temperature,--temp", temperature, "Sampling temperature (0: greedy)");
  app.add_option_function<int>("--top-k", [this](const int& v) { top_k = v; }, "Sample from the K most likely tokens (0: all)");
  f("--top-p", top_p, "Sample from the smallest set of tokens whose probability reaches P (1: off)");
  f("--min-p", min_p, "Drop tokens less likely than P times the most likely one (0: off)");
  f("--presence-penalty", presence_penalty, "Penalise tokens already generated, once (OpenAI's presence_penalty)");
  f("--frequency-penalty", frequency_penalty, "Penalise tokens by how often they were generated (OpenAI's frequency_penalty)");
  f("--repeat-penalty", repeat_penalty, "Divide the logits of tokens seen in the context by this (1: off)");
  app.add_option_function<uint64_t>("--seed", [this](const uint64_t& v) { seed = v; }, "Random seed (same seed, same output)");
  app.add_option_function<int>("-n,--max-tokens", [this](const int& v) { max_tokens = v; }, "Most tokens to generate")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--stop", stop, "Stop when this text appears (not printed); repeatable");
}

SamplingParams SamplingFlags::over(SamplingParams p) const {
  if (temperature) p.temperature = *temperature;
  if (top_k) p.top_k = *top_k;
  if (top_p) p.top_p = *top_p;
  if (min_p) p.min_p = *min_p;
  if (presence_penalty) p.presence_penalty = *presence_penalty;
  if (frequency_penalty) p.frequency_penalty = *frequency_penalty;
  if (repeat_penalty) p.repetition_penalty = *repeat_penalty;
  if (seed) p.seed = *seed;
  p.validate();
  return p;
}

const char* SamplingFlags::keys() {
  return "temperature, top_k, top_p, min_p, presence_penalty, frequency_penalty, repeat_penalty, seed, max_tokens";
}

bool SamplingFlags::set(const std::string& key, const std::string& value) {
  auto number = [&]() -> double {
    const std::string v = trim(value);
    double d = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size()) fail("/set {}: '{}' is not a number", key, value);
    return d;
  };
  auto integer = [&]() -> int64_t {
    const double d = number();
    if (d != static_cast<double>(static_cast<int64_t>(d))) fail("/set {}: '{}' is not a whole number", key, value);
    return static_cast<int64_t>(d);
  };
  SamplingFlags next = *this;
  if (key == "temperature" || key == "temp") next.temperature = static_cast<float>(number());
  else if (key == "top_k") next.top_k = static_cast<int>(integer());
  else if (key == "top_p") next.top_p = static_cast<float>(number());
  else if (key == "min_p") next.min_p = static_cast<float>(number());
  else if (key == "presence_penalty") next.presence_penalty = static_cast<float>(number());
  else if (key == "frequency_penalty") next.frequency_penalty = static_cast<float>(number());
  else if (key == "repeat_penalty" || key == "repetition_penalty") next.repeat_penalty = static_cast<float>(number());
  else if (key == "seed") next.seed = static_cast<uint64_t>(integer());
  else if (key == "max_tokens") {
    const int64_t n = integer();
    if (n < 0) fail("/set max_tokens: must be >= 0");
    next.max_tokens = static_cast<int>(n);
  } else {
    return false;
  }
  next.over({});  // validates the new value
  *this = next;
  return true;
}

std::vector<int32_t> parse_tokens(const std::string& text) {
  std::vector<int32_t> out;
  for (int64_t v : parse_int_list(text, "--tokens")) {
    if (v < INT32_MIN || v > INT32_MAX) fail("--tokens: {} is not a valid token id", v);
    out.push_back(static_cast<int32_t>(v));
  }
  return out;
}

}  // namespace qwenrt::cli
