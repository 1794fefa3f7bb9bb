#pragma once
// How a model family plugs in: its names in each file format and how to build it. The list of
// families is written out in registry.cpp.
#include "io/config_reader.h"
#include "model/model.h"
#include "model/weight_binder.h"
#include "tensor/dtype.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string_view>
#include <vector>

namespace qwenrt {

class ThreadPool;

struct Architecture {
  std::string_view name;                             // "qwen3"
  std::vector<std::string_view> hf_architectures;    // config.json "architectures"[0]
  std::vector<std::string_view> gguf_architectures;  // general.architecture
  std::unique_ptr<Model> (*load)(std::shared_ptr<const ModelFiles> files);
  // Random weights of the shape an HF config.json describes (benchmarks).
  std::unique_ptr<Model> (*synthetic)(const nlohmann::ordered_json& config, DType dtype, uint64_t seed, ThreadPool* pool);
};

const Architecture& qwen3_architecture();
const Architecture& qwen3_moe_architecture();
const Architecture& qwen3_next_architecture();
const Architecture& qwen3_5_architecture();

// Where a family's text-model tensors live in an HF checkpoint: "model.language_model." in the
// vision-language Qwen3.5 checkpoints, "model." otherwise.
std::string hf_text_prefix(const ModelFiles& files);
// The family's hyperparameters: config.json (its text_config when it has one) or the GGUF
// metadata under the file's architecture name.
ConfigReader family_config(const ModelFiles& files);
void warn_unused(const WeightBinder& b, const std::string& path, std::string_view family);

// Builds family M (constructed from a ConfigReader and a WeightBinder) from files or at random.
template <class M>
std::unique_ptr<Model> load_family(std::shared_ptr<const ModelFiles> files, std::string_view family) {
  WeightBinder b(files, hf_text_prefix(*files));
  auto model = std::make_unique<M>(family_config(*files), b);
  warn_unused(b, files->path(), family);
  return model;
}

template <class M>
std::unique_ptr<Model> synthetic_family(const nlohmann::ordered_json& config, DType dtype, uint64_t seed, ThreadPool* pool) {
  WeightBinder b(dtype, seed, pool);
  if (config.contains("text_config")) return std::make_unique<M>(ConfigReader::from_json(config["text_config"], "synthetic config"), b);
  return std::make_unique<M>(ConfigReader::from_json(config, "synthetic config"), b);
}

}  // namespace qwenrt
