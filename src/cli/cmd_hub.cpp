// qwenrt pull REPO: download a model from the Hugging Face hub into the cache and print its path.
// qwenrt list: the models in the cache, with their size.
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/model_source.h"
#include "hub/hub.h"

#include <cstdio>

namespace qwenrt::cli {

Run add_pull(CLI::App& app) {
  auto spec = std::make_shared<std::string>();
  app.add_option("repo", *spec, "owner/name, owner/name:FILE.gguf or owner/name:QUANT (a GGUF repo's quantization)")->required();
  return [spec] {
    const std::string path = hub::download_model(hub::parse_model_ref(*spec), hub::HubConfig::from_env(), download_progress());
    std::printf("%s\n", path.c_str());
    return 0;
  };
}

Run add_list(CLI::App&) {
  return [] {
    const hub::HubConfig c = hub::HubConfig::from_env();
    const auto models = hub::list_cached(c);
    if (models.empty()) {
      std::printf("no models in %s\n", c.cache_dir.c_str());
      return 0;
    }
    size_t w = 4;
    for (const auto& m : models) w = std::max(w, m.repo.size());
    std::printf("%-*s  %10s  %s\n", static_cast<int>(w), "NAME", "SIZE", "PATH");
    for (const auto& m : models) {
      std::printf("%-*s  %10s  %s\n", static_cast<int>(w), m.repo.c_str(), format_bytes(static_cast<double>(m.bytes)).c_str(), m.snapshot.c_str());
    }
    return 0;
  };
}

}  // namespace qwenrt::cli
