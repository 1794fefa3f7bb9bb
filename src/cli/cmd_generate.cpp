// qwenrt generate: the exact, scriptable continuation of a prompt. With --tokens the prompt is
// token ids and the output a JSON array of the new ids; with --prompt (text encoded as it is) or
// --chat (one user turn through the model's chat template, with a generation prompt) the new
// text is streamed as it is decoded, and nothing else is printed. Greedy unless --temperature > 0;
// never takes sampling defaults from generation_config.json.
#include "api/chat_prompt.h"
#include "base/error.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "engine/generate.h"
#include "engine/stop_strings.h"

#include <algorithm>
#include <iostream>

namespace qwenrt::cli {

Run add_generate(CLI::App& app) {
  struct Opts {
    ModelOptions model;
    SamplingFlags sampling;
    std::string tokens, prompt, chat, chat_kwargs;
    bool ignore_eos = false;
  };
  auto o = std::make_shared<Opts>();
  o->model.add(app);
  auto* tokens = app.add_option("--tokens", o->tokens, "Prompt token ids, comma-separated (prints the new ids as JSON)");
  auto* prompt = app.add_option("--prompt", o->prompt, "Prompt text, encoded as it is (prints the new text)");
  auto* chat = app.add_option("--chat", o->chat, "A user message, sent through the model's chat template (prints the reply)");
  app.add_option("--chat-template-kwargs", o->chat_kwargs, "Template variables for --chat as a JSON object, e.g. '{\"enable_thinking\": false}'");
  tokens->excludes(prompt)->excludes(chat);
  prompt->excludes(chat);
  o->sampling.add(app);
  app.add_flag("--ignore-eos", o->ignore_eos, "Do not stop at the model's end-of-generation tokens");
  return [o, tokens, prompt, chat] {
    if (!*tokens && !*prompt && !*chat) fail("generate: give one of --tokens, --prompt or --chat");
    nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();
    if (!o->chat_kwargs.empty()) {
      try {
        kwargs = nlohmann::ordered_json::parse(o->chat_kwargs);
      } catch (const nlohmann::json::exception& e) {
        fail("--chat-template-kwargs: not valid JSON: {}", e.what());
      }
      if (!kwargs.is_object()) fail("--chat-template-kwargs: expected a JSON object");
    }
    auto rt = Runtime::load(o->model.model, o->model.runtime());
    const Model& model = rt->model();
    GenerateParams params;
    params.max_new_tokens = o->sampling.max_tokens.value_or(16);
    params.sampling = o->sampling.over({});  // greedy unless --temperature says otherwise
    if (!o->ignore_eos) params.stop_ids = model.info().eos_ids;
    auto state = model.new_state({0, o->model.kv_dtype()});

    if (*tokens) {
      if (!o->sampling.stop.empty()) fail("generate: --stop works on text: use it with --prompt or --chat");
      const std::vector<int32_t> out = generate(model, *state, rt->context(), 0, parse_tokens(o->tokens), params);
      std::string text = "[";
      for (size_t i = 0; i < out.size(); ++i) text += (i ? ", " : "") + std::to_string(out[i]);
      std::cout << text << "]\n";
      return 0;
    }

    const TextAssets assets = load_text_assets(o->model.model, model.info().n_vocab);
    if (!o->ignore_eos) {
      for (int32_t id : assets.eos_ids) {
        if (std::find(params.stop_ids.begin(), params.stop_ids.end(), id) == params.stop_ids.end()) params.stop_ids.push_back(id);
      }
    }
    const std::string prompt_text =
        *prompt ? o->prompt : render_chat_prompt(assets, model_chat_template(assets), single_user_turn(o->chat, kwargs));
    const std::vector<int32_t> ids = assets.tokenizer->encode(prompt_text);
    if (ids.empty()) fail("generate: the prompt is empty");
    text::IncrementalDecoder decoder(*assets.tokenizer);
    StopStrings stops(o->sampling.stop);
    generate(model, *state, rt->context(), 0, ids, params, [&](int32_t token, const float*, int64_t) {
      // The stop token ends the reply; it is not part of it.
      if (std::find(params.stop_ids.begin(), params.stop_ids.end(), token) != params.stop_ids.end()) return true;
      std::cout << stops.push(decoder.push(token)) << std::flush;
      return !stops.stopped();
    });
    if (!stops.stopped()) std::cout << stops.push(decoder.finish());
    std::cout << stops.finish() << std::flush;
    return 0;
  };
}

}  // namespace qwenrt::cli
