#include "api/generation_defaults.h"

#include "base/error.h"
#include "base/strings.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace qwenrt {
namespace {

float number(const nlohmann::json& g, const char* key, float dflt, const std::string& path) {
  if (!g.contains(key) || g[key].is_null()) return dflt;
  if (!g[key].is_number()) fail("{}: '{}' must be a number", path, key);
  return g[key].get<float>();
}

}  // namespace

GenerationDefaults generation_defaults(const std::string& model_path) {
  namespace fs = std::filesystem;
  GenerationDefaults d;
  const fs::path file = fs::path(model_path) / "generation_config.json";
  if (fs::is_directory(model_path) && fs::exists(file)) {
    nlohmann::json g;
    try {
      g = nlohmann::json::parse(read_file(file.string()));
    } catch (const nlohmann::json::exception& e) {
      fail("{}: invalid JSON: {}", file.string(), e.what());
    }
    if (!g.is_object()) fail("{}: expected a JSON object", file.string());
    const std::string path = file.string();
    SamplingParams p;
    const bool do_sample = g.contains("do_sample") && g["do_sample"].is_boolean() && g["do_sample"].get<bool>();
    p.temperature = do_sample ? number(g, "temperature", 1.0f, path) : 0.0f;
    p.top_k = static_cast<int>(number(g, "top_k", 50.0f, path));
    p.top_p = number(g, "top_p", 1.0f, path);
    p.min_p = number(g, "min_p", 0.0f, path);
    p.repetition_penalty = number(g, "repetition_penalty", 1.0f, path);
    try {
      p.validate();
    } catch (const Error& e) {
      fail("{}: {}", path, e.what());
    }
    d.thinking = d.non_thinking = p;
    d.source = "generation_config.json";
    return d;
  }
  d.thinking = {.temperature = 0.6f, .top_k = 20, .top_p = 0.95f, .min_p = 0.0f};
  d.non_thinking = {.temperature = 0.7f, .top_k = 20, .top_p = 0.8f, .min_p = 0.0f};
  d.source = "Qwen's recommended values";
  return d;
}

}  // namespace qwenrt
