#pragma once
// Where `run` (and later `serve`) get a model from: a local directory or .gguf file, or a
// Hugging Face repo id fetched into the hub cache; and loading it with a progress display.
#include "api/runtime.h"
#include "hub/hub.h"

#include <memory>
#include <string>

namespace qwenrt::cli {

// A local path as it is; a repo id ("owner/repo", "owner/repo:FILE.gguf", "owner/repo:Q4_K_M")
// resolved through the Hugging Face cache, downloading what is missing.
std::string resolve_model(const std::string& spec);

// A progress bar for downloads on a terminal (stderr); nothing on a pipe.
hub::Progress download_progress();

// Runtime::load, showing on a terminal (stderr) how long it takes once it takes over a second.
std::unique_ptr<Runtime> load_with_progress(const std::string& path, const RuntimeOptions& options);

}  // namespace qwenrt::cli
