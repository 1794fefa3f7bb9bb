#pragma once
// A model's chat template, rendered the way Hugging Face transformers' apply_chat_template
// renders it (tokenize=False): Jinja2 with trim_blocks and lstrip_blocks, the variables
// messages / tools / documents / add_generation_prompt, the tokenizer's special tokens, extra
// template variables (enable_thinking ...), and continue_final_message to prefill a partial
// assistant turn.
#include "chat/template_error.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace qwenrt::chat {

struct ChatRequest {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;       // null: no tools (the template sees None)
  bool add_generation_prompt = false;
  bool continue_final_message = false;
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();  // template kwargs

  // From a request body as clients send it: "messages", optional "tools", "add_generation_prompt",
  // "continue_final_message", and template variables under "chat_template_kwargs" (the OpenAI
  // servers' name) and/or "template_kwargs" (transformers'; the former wins on a clash). Other
  // keys are ignored. Throws Error naming the field that has the wrong type.
  static ChatRequest from_json(const nlohmann::ordered_json& body);
};

class ChatTemplate {
 public:
  // Parses the template; throws TemplateError on a syntax error.
  explicit ChatTemplate(const std::string& source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // special_tokens: {"bos_token": "...", "eos_token": ..., "additional_special_tokens": [...]}.
  // Throws TemplateError when rendering fails (raised_by_template() for raise_exception) and
  // Error for requests HF rejects (continue_final_message with add_generation_prompt ...).
  std::string render(const ChatRequest& request,
                     const nlohmann::ordered_json& special_tokens = nlohmann::ordered_json::object()) const;

  const std::string& source() const { return source_; }

 private:
  struct Parsed;
  std::string source_;
  std::unique_ptr<Parsed> parsed_;
};

}  // namespace qwenrt::chat
