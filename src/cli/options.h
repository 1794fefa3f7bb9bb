#pragma once
// Options several subcommands share, registered the same way everywhere.
#include "api/runtime.h"

#include <CLI/CLI.hpp>

#include <string>

namespace qwenrt::cli {

struct ModelOptions {
  std::string model;
  int threads = 0;
  void add(CLI::App& app, bool positional = false);
  RuntimeOptions runtime() const { return RuntimeOptions{threads}; }
};

// "1,2,3" -> token ids (range checks happen in the model, which knows its vocabulary).
std::vector<int32_t> parse_tokens(const std::string& text);

}  // namespace qwenrt::cli
