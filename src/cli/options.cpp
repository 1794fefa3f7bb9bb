#include "cli/options.h"

#include "base/error.h"
#include "base/strings.h"

namespace qwenrt::cli {

void ModelOptions::add(CLI::App& app, bool positional) {
  app.add_option("-m,--model", model, "Model: a Hugging Face directory or a .gguf file")->required(!positional);
  if (positional) app.add_option("model_path", model, "Model (same as --model)");
  app.add_option("-t,--threads", threads, "Threads (default: one per available core)")->check(CLI::NonNegativeNumber);
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
