#pragma once
// The demo model built into the binary (models/qwen3-demo-q8_0.gguf, trained by tools/demo_model):
// what `run` (and the server) use when no model is given, so that a fresh machine with no download
// has a model that really answers, on its narrow domain: arithmetic and three tools.
#include "api/generation_defaults.h"

#include <string>
#include <string_view>

namespace qwenrt::cli {

// The embedded GGUF file.
std::string_view demo_model_bytes();

// A path to the demo model, written on first use into the cache folder ($QWENRT_CACHE, else
// $XDG_CACHE_HOME/qwenrt, else ~/.cache/qwenrt, else the temporary folder) and reused after that.
std::string demo_model_path();

// What to tell the user, once, when the demo model stands in for a real one (`command`: the
// subcommand to show with a real model, "run" or "serve").
std::string demo_model_notice(const char* command);

// Greedy in both modes: a tiny model answers best without sampling.
GenerationDefaults demo_generation_defaults();

}  // namespace qwenrt::cli
