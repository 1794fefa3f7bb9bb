// qwenrt info: what a model is and what it needs.
#include "base/cpu_features.h"
#include "base/error.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "kernels/kernels.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <map>

namespace qwenrt::cli {

Run add_info(CLI::App& app) {
  auto opts = std::make_shared<ModelOptions>();
  auto json = std::make_shared<bool>(false);
  opts->add(app, /*positional=*/true);
  app.add_flag("--json", *json, "Print a JSON object instead of a table");
  return [opts, json] {
    if (opts->model.empty()) fail("info: a model is required (--model PATH)");
    auto rt = Runtime::load(opts->model, opts->runtime());
    const Model& m = rt->model();
    const ModelInfo& info = m.info();
    int64_t params = 0;
    std::map<std::string, std::pair<int, size_t>> dtypes;  // name -> (tensors, bytes)
    for (const StoredWeight& t : m.weights().tensors()) {
      params += t.weight.shape.numel();
      auto& d = dtypes[std::string(dtype_name(t.weight.dtype))];
      d.first += 1;
      d.second += t.weight.nbytes();
    }
    const size_t weight_bytes = m.weights().total_bytes();
    const size_t per_token = m.state_bytes_per_token();
    const std::string format = std::filesystem::is_directory(info.source) ? "Hugging Face (safetensors)" : "GGUF";
    if (*json) {
      nlohmann::ordered_json j;
      j["model"] = info.source;
      j["format"] = format;
      j["architecture"] = info.hf_architecture;
      j["arch"] = info.arch;
      j["gguf_architecture"] = info.gguf_architecture;
      for (const auto& [k, v] : info.hparams) j["hparams"][k] = v;
      j["parameters"] = params;
      for (const auto& [name, d] : dtypes) j["dtypes"][name] = {{"tensors", d.first}, {"bytes", d.second}};
      j["weight_bytes"] = weight_bytes;
      j["repacked_bytes"] = m.weights().owned_bytes();
      j["cache_bytes_per_token"] = per_token;
      j["eos_token_ids"] = info.eos_ids;
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    auto row = [](const std::string& k, const std::string& v) { std::cout << fmt::format("{:<26} {}\n", k, v); };
    row("model", info.source);
    row("format", format);
    row("architecture", fmt::format("{} (GGUF {})", info.hf_architecture, info.gguf_architecture));
    for (const auto& [k, v] : info.hparams) row("  " + k, v);
    row("parameters", fmt::format("{} ({} in {} tensors)", format_count(static_cast<double>(params)), params,
                                  m.weights().tensors().size()));
    for (const auto& [name, d] : dtypes) {
      row("  " + name, fmt::format("{} tensors, {}", d.first, format_bytes(static_cast<double>(d.second))));
    }
    row("weights in memory", fmt::format("{} ({} repacked at load, the rest mapped from the file)",
                                         format_bytes(static_cast<double>(weight_bytes)),
                                         format_bytes(static_cast<double>(m.weights().owned_bytes()))));
    row("cache per token", format_bytes(static_cast<double>(per_token)));
    if (info.n_ctx_train > 0) {
      row("cache at full context",
          fmt::format("{} for {} tokens", format_bytes(static_cast<double>(per_token) * static_cast<double>(info.n_ctx_train)),
                      info.n_ctx_train));
    }
    std::string eos;
    for (int32_t id : info.eos_ids) eos += (eos.empty() ? "" : ", ") + std::to_string(id);
    row("end-of-generation ids", eos.empty() ? "(none declared)" : eos);
    row("kernels", fmt::format("{} (cpu: {})", kernels::isa_name(kernels::kernel_table().isa), cpu_features().describe()));
    return 0;
  };
}

}  // namespace qwenrt::cli
