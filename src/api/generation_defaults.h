#pragma once
// Sampling defaults for interactive use (`run`, `serve`): the model's generation_config.json
// read as transformers' GenerationConfig reads it (do_sample false or absent means greedy;
// absent keys take transformers' defaults), or, when the model has none (a GGUF file), Qwen's
// recommended values for thinking and non-thinking mode from the Qwen3 model cards.
#include "engine/sampler.h"

#include <string>

namespace qwenrt {

struct GenerationDefaults {
  SamplingParams thinking;
  SamplingParams non_thinking;
  std::string source;  // "generation_config.json" or "Qwen's recommended values"
};

GenerationDefaults generation_defaults(const std::string& model_path);

}  // namespace qwenrt
