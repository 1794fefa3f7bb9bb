#include "chat/chat_template.h"

#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "chat/python_text.h"

namespace qwenrt::chat {

struct ChatTemplate::Parsed {
  Body program;
};

ChatTemplate::ChatTemplate(const std::string& source) : source_(source), parsed_(std::make_unique<Parsed>()) {
  parsed_->program = parse_template(tokenize(source_));
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

namespace {

// transformers marks the end of the message to continue with this tag, renders, and cuts there.
constexpr const char* kContinueTag = "CONTINUE_FINAL_MESSAGE_TAG ";

// Appends the tag to the last message's content (its last text part when content is a list).
void tag_final_message(nlohmann::ordered_json& messages) {
  if (!messages.is_array() || messages.empty() || !messages.back().is_object()) {
    throw Error("continue_final_message needs a final message to continue");
  }
  auto& content = messages.back()["content"];
  if (content.is_string()) {
    content = content.get<std::string>() + kContinueTag;
    return;
  }
  if (content.is_array()) {
    for (auto it = content.rbegin(); it != content.rend(); ++it) {
      if (it->is_object() && it->contains("text") && (*it)["text"].is_string()) {
        (*it)["text"] = (*it)["text"].get<std::string>() + kContinueTag;
        return;
      }
    }
  }
  throw Error("continue_final_message is set but there is no text to continue in the final message");
}

}  // namespace

ChatRequest ChatRequest::from_json(const nlohmann::ordered_json& body) {
  if (!body.is_object()) throw Error("chat request: expected a JSON object");
  ChatRequest r;
  if (!body.contains("messages") || !body["messages"].is_array()) throw Error("chat request: 'messages' must be a list");
  r.messages = body["messages"];
  if (body.contains("tools") && !body["tools"].is_null()) {
    if (!body["tools"].is_array()) throw Error("chat request: 'tools' must be a list");
    r.tools = body["tools"];
  }
  auto flag = [&](const char* key, bool* out) {
    if (!body.contains(key) || body[key].is_null()) return;
    if (!body[key].is_boolean()) throw Error(std::string("chat request: '") + key + "' must be true or false");
    *out = body[key].get<bool>();
  };
  flag("add_generation_prompt", &r.add_generation_prompt);
  flag("continue_final_message", &r.continue_final_message);
  for (const char* key : {"template_kwargs", "chat_template_kwargs"}) {
    if (!body.contains(key) || body[key].is_null()) continue;
    if (!body[key].is_object()) throw Error(std::string("chat request: '") + key + "' must be an object");
    for (auto it = body[key].begin(); it != body[key].end(); ++it) r.variables[it.key()] = it.value();
  }
  return r;
}

std::string ChatTemplate::render(const ChatRequest& request, const nlohmann::ordered_json& special_tokens) const {
  if (request.continue_final_message && request.add_generation_prompt) {
    throw Error("continue_final_message and add_generation_prompt are mutually exclusive: one continues the last message, "
                "the other starts a new assistant turn");
  }
  if (!request.messages.is_array()) throw Error("messages must be a list");
  if (!request.variables.is_object()) throw Error("template variables must be an object");

  std::map<std::string, Value, std::less<>> vars;
  for (auto it = special_tokens.begin(); it != special_tokens.end(); ++it) vars[it.key()] = Value::from_json(it.value());
  for (auto it = request.variables.begin(); it != request.variables.end(); ++it) {
    const std::string& k = it.key();
    if (k == "messages" || k == "tools" || k == "documents" || k == "add_generation_prompt") {
      throw Error("template variable '" + k + "' is set by the request itself and cannot be overridden");
    }
    vars[k] = Value::from_json(it.value());
  }
  nlohmann::ordered_json messages = request.messages;
  if (request.continue_final_message) tag_final_message(messages);
  vars["messages"] = Value::from_json(messages);
  vars["tools"] = request.tools.is_null() ? Value::none() : Value::from_json(request.tools);
  vars["documents"] = Value::none();
  vars["add_generation_prompt"] = Value::boolean(request.add_generation_prompt);

  Interpreter interpreter(parsed_->program);
  std::string out = interpreter.render(vars);
  if (!request.continue_final_message) return out;

  const std::string tag = kContinueTag;
  const std::string bare_tag = py::strip(tag, std::nullopt, true, true);
  const size_t at = out.rfind(bare_tag);
  if (at == std::string::npos) {
    throw Error("continue_final_message is set but the final message does not appear in the rendered chat; "
                "this template cannot continue a final message");
  }
  if (out.compare(at, tag.size(), tag) == 0) return out.substr(0, at);
  // The template trimmed the message's trailing space: trim what precedes the tag as well.
  return py::strip(std::string_view(out).substr(0, at), std::nullopt, false, true);
}

}  // namespace qwenrt::chat
