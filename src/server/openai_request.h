#pragma once
// OpenAI request bodies (/v1/chat/completions, /v1/completions) parsed and checked into one
// GenerationJob: the prompt's tokens, sampling, limits, what to parse out of the reply. Field
// names and defaults follow the OpenAI API, with vLLM's extras (top_k, min_p, repetition_penalty,
// min_tokens, ignore_eos, skip_special_tokens, stop_token_ids, chat_template_kwargs,
// add_generation_prompt, continue_final_message). Every problem is an ApiError naming the field.
#include "api/generation_defaults.h"
#include "api/text_assets.h"
#include "base/error.h"
#include "chat/chat_template.h"
#include "engine/sampler.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace qwenrt::server {

using json = nlohmann::ordered_json;

// An error answered as OpenAI answers it: {"error": {"message", "type", "param", "code"}}.
class ApiError : public Error {
 public:
  ApiError(int status, std::string message, std::string param = {}, std::string type = "invalid_request_error",
           std::string code = {})
      : Error(message), status(status), type(std::move(type)), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string type, param, code;
  json body() const;
};

enum class ToolChoice { None, Auto, Required, Named };

struct GenerationJob {
  bool chat = true;
  std::string model;              // the served name the client asked for (or the default)
  std::string prompt_text;        // the rendered chat prompt, or the completion prompt
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int max_tokens = 0;             // resolved against the context
  int min_tokens = 0;
  bool ignore_eos = false;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;  // beyond the model's end-of-generation ids
  bool stream = false, include_usage = false;
  int logprobs = -1;              // -1: none; else how many top alternatives (0: the chosen token only)
  bool skip_special = true;
  bool echo = false;              // completions: the prompt comes back before the continuation
  // Chat only.
  bool split_reasoning = false;
  bool starts_in_reasoning = false;
  ToolChoice tool_choice = ToolChoice::None;
  std::string tool_name;          // ToolChoice::Named
  json tools;                     // the request's tools (null: none)
  std::string forced_prefix;      // text the reply is made to start with (tool_choice required / named)
};

// What parsing needs to know about the served model.
struct ServedModel {
  const TextAssets* assets = nullptr;
  const chat::ChatTemplate* chat_template = nullptr;  // null: the model has none
  GenerationDefaults defaults;
  int64_t max_model_len = 0;
  std::vector<std::string> names;  // served names; the first is the default
  bool xml_tool_calls = false;     // the template writes Qwen3-Coder / Qwen3.5 <function=...> calls
  std::vector<int32_t> eos_ids;    // end-of-generation ids (the model's and the tokenizer's)
};

GenerationJob parse_chat_request(const json& body, const ServedModel& m);
// The chat prompt text a request renders to, checked as the chat endpoint checks it (/tokenize).
chat::ChatRequest checked_chat_request(const json& body);
std::string render_checked(const chat::ChatRequest& request, const ServedModel& m);
GenerationJob parse_completion_request(const json& body, const ServedModel& m);

// The model name a request asks for: the default when absent, 404 model_not_found when unknown.
std::string requested_model(const json& body, const ServedModel& m);

// The body as JSON: 400 with the parser's message when it is not.
json parse_body(const std::string& text);

}  // namespace qwenrt::server
