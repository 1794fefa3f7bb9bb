// qwenrt generate: the exact, scriptable continuation of a token sequence, as a JSON array.
// Greedy unless --temperature > 0; never takes sampling defaults from generation_config.json.
#include "base/error.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "engine/generate.h"

#include <iostream>

namespace qwenrt::cli {

Run add_generate(CLI::App& app) {
  struct Opts {
    ModelOptions model;
    std::string tokens;
    int n = 16;
    float temperature = 0.0f;
    uint64_t seed = 0;
    bool ignore_eos = false;
  };
  auto o = std::make_shared<Opts>();
  o->model.add(app);
  app.add_option("--tokens", o->tokens, "Prompt token ids, comma-separated")->required();
  app.add_option("-n,--max-tokens", o->n, "Tokens to generate")->check(CLI::NonNegativeNumber);
  app.add_option("--temperature,--temp", o->temperature, "Sampling temperature (0: greedy)")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", o->seed, "Random seed for sampling");
  app.add_flag("--ignore-eos", o->ignore_eos, "Do not stop at the model's end-of-generation tokens");
  return [o] {
    const std::vector<int32_t> prompt = parse_tokens(o->tokens);
    auto rt = Runtime::load(o->model.model, o->model.runtime());
    const Model& model = rt->model();
    auto state = model.new_state({});
    GenerateParams params;
    params.max_new_tokens = o->n;
    params.sampling.temperature = o->temperature;
    params.sampling.seed = o->seed;
    if (!o->ignore_eos) params.stop_ids = model.info().eos_ids;
    const std::vector<int32_t> out = generate(model, *state, rt->context(), 0, prompt, params);
    std::string text = "[";
    for (size_t i = 0; i < out.size(); ++i) text += (i ? ", " : "") + std::to_string(out[i]);
    std::cout << text << "]\n";
    return 0;
  };
}

}  // namespace qwenrt::cli
