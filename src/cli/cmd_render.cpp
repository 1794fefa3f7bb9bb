// qwenrt render: the exact prompt string a chat request becomes under a model's chat template
// (or a given template file), printed with nothing added.
#include "api/chat_prompt.h"
#include "base/error.h"
#include "base/strings.h"
#include "cli/commands.h"

#include <iostream>
#include <iterator>

namespace qwenrt::cli {

Run add_render(CLI::App& app) {
  struct Opts {
    std::string model, template_file, request;
  };
  auto o = std::make_shared<Opts>();
  auto* model = app.add_option("-m,--model", o->model, "Model or tokenizer directory, or a .gguf file: its chat template and special tokens");
  auto* tmpl = app.add_option("--template", o->template_file, "A Jinja chat template file to use instead of the model's");
  app.add_option("--request", o->request,
                 "JSON file ('-': stdin) with messages, optional tools, add_generation_prompt, continue_final_message, "
                 "and template variables under chat_template_kwargs or template_kwargs")
      ->required();
  return [o, model, tmpl] {
    if (!*model && !*tmpl) fail("render: give --model, --template, or both");
    std::string body_text;
    if (o->request == "-") {
      body_text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      body_text = read_file(o->request);
    }
    nlohmann::ordered_json body;
    try {
      body = nlohmann::ordered_json::parse(body_text);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: not valid JSON: {}", o->request, e.what());
    }
    const chat::ChatRequest request = chat::ChatRequest::from_json(body);
    TextAssets assets;
    if (*model) assets = load_text_assets(o->model);
    const chat::ChatTemplate t = *tmpl ? chat::ChatTemplate(read_file(o->template_file)) : model_chat_template(assets);
    std::cout << render_chat_prompt(assets, t, request) << std::flush;
    return 0;
  };
}

}  // namespace qwenrt::cli
