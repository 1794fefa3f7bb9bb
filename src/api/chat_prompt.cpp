#include "api/chat_prompt.h"

#include "base/error.h"

namespace qwenrt {

chat::ChatTemplate model_chat_template(const TextAssets& assets) {
  if (!assets.chat_template) {
    fail("the model has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja, "
         "no tokenizer.chat_template in the GGUF); give one with --template or send a raw prompt");
  }
  return chat::ChatTemplate(*assets.chat_template);
}

nlohmann::ordered_json special_token_variables(const TextAssets& assets) {
  nlohmann::ordered_json v = nlohmann::ordered_json::object();
  if (!assets.bos_token.empty()) v["bos_token"] = assets.bos_token;
  if (!assets.eos_token.empty()) v["eos_token"] = assets.eos_token;
  if (!assets.pad_token.empty()) v["pad_token"] = assets.pad_token;
  return v;
}

std::string render_chat_prompt(const TextAssets& assets, const chat::ChatTemplate& tmpl, const chat::ChatRequest& request) {
  return tmpl.render(request, special_token_variables(assets));
}

chat::ChatRequest single_user_turn(const std::string& text, const nlohmann::ordered_json& template_variables) {
  chat::ChatRequest r;
  r.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", text}}});
  r.add_generation_prompt = true;
  if (template_variables.is_object()) r.variables = template_variables;
  return r;
}

}  // namespace qwenrt
