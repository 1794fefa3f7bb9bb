// qwenrt: one binary, one subcommand per task.
#include "base/error.h"
#include "cli/commands.h"
#include "cli/hooks.h"

#include <cstdio>
#include <map>
#include <string>

namespace qwenrt::cli {

Hooks& hooks() {
  static Hooks h;
  return h;
}

int run_app(int argc, char** argv) {
  CLI::App app{"qwenrt: a C++ inference engine for the Qwen3 model family"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("qwenrt 0.1.0"));
  std::map<CLI::App*, qwenrt::cli::Run> runs;
  auto add = [&](qwenrt::cli::Run (*adder)(CLI::App&), const char* name, const char* description) {
    CLI::App* sub = app.add_subcommand(name, description);
    runs[sub] = adder(*sub);
  };
  add(qwenrt::cli::add_info, "info", "Show a model's architecture, hyperparameters, parameters and memory needs");
  add(qwenrt::cli::add_logits, "logits", "Write the logits of every position of a token sequence");
  add(qwenrt::cli::add_generate, "generate", "Continue a prompt (token ids, text, or a chat turn) and print what follows");
  add(qwenrt::cli::add_quantize, "quantize", "Convert a model (HF directory or GGUF) to a GGUF file of a given type");
  add(qwenrt::cli::add_bench, "bench", "Measure prefill and decode speed");
  add(qwenrt::cli::add_tokenize, "tokenize", "Encode text with a model's tokenizer and print the ids as JSON");
  add(qwenrt::cli::add_detokenize, "detokenize", "Decode token ids to text");
  add(qwenrt::cli::add_render, "render", "Render a chat request with a model's chat template and print the prompt");
  add(qwenrt::cli::add_run, "run", "Chat with a model: answer a prompt once, or talk interactively");
  add(qwenrt::cli::add_serve, "serve", "Serve a model over an OpenAI-compatible HTTP API");
  add(qwenrt::cli::add_pull, "pull", "Download a model from the Hugging Face hub into the local cache");
  add(qwenrt::cli::add_list, "list", "List the models in the local Hugging Face cache");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    for (CLI::App* sub : app.get_subcommands()) return runs.at(sub)();
  } catch (const qwenrt::Error& e) {
    std::fprintf(stderr, "qwenrt: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "qwenrt: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {  // e.g. a filesystem error: still a message, not a crash
    std::fprintf(stderr, "qwenrt: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace qwenrt::cli
