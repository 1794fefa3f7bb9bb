#pragma once
// How a model family plugs in: its names in each file format and how to build it. The list of
// families is written out in registry.cpp.
#include "model/model.h"
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

}  // namespace qwenrt
