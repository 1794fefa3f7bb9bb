#pragma once
// Each subcommand registers itself on the app and returns the function that runs it.
#include <CLI/CLI.hpp>

#include <functional>

namespace qwenrt::cli {

using Run = std::function<int()>;

Run add_info(CLI::App& app);
Run add_logits(CLI::App& app);
Run add_generate(CLI::App& app);
Run add_quantize(CLI::App& app);
Run add_bench(CLI::App& app);
Run add_tokenize(CLI::App& app);
Run add_detokenize(CLI::App& app);
Run add_render(CLI::App& app);
Run add_run(CLI::App& app);
Run add_serve(CLI::App& app);
Run add_pull(CLI::App& app);
Run add_list(CLI::App& app);

}  // namespace qwenrt::cli
