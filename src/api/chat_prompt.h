#pragma once
// A model's chat template applied to a chat request, with the model's special tokens as
// template variables (bos_token, eos_token, pad_token), as transformers passes them.
#include "api/text_assets.h"
#include "chat/chat_template.h"

#include <string>

namespace qwenrt {

// The model's template, compiled; throws Error when the model has none, TemplateError when it
// does not parse.
chat::ChatTemplate model_chat_template(const TextAssets& assets);

// {"bos_token": ..., "eos_token": ..., "pad_token": ...} for the tokens the model defines.
nlohmann::ordered_json special_token_variables(const TextAssets& assets);

// The prompt text for `request`, ready to encode (special-token text in it becomes special tokens).
std::string render_chat_prompt(const TextAssets& assets, const chat::ChatTemplate& tmpl, const chat::ChatRequest& request);

// One user turn with a generation prompt: what `generate --chat TEXT` sends.
chat::ChatRequest single_user_turn(const std::string& text, const nlohmann::ordered_json& template_variables = nlohmann::ordered_json::object());

}  // namespace qwenrt
