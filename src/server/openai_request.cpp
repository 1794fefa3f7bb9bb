#include "server/openai_request.h"

#include "api/chat_prompt.h"
#include "chat/reasoning.h"
#include "chat/template_error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace qwenrt::server {
namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) { throw ApiError(400, message, param); }

bool present(const json& body, const char* key) { return body.contains(key) && !body[key].is_null(); }

std::optional<double> number(const json& body, const char* key, double lo, double hi) {
  if (!present(body, key)) return std::nullopt;
  const json& v = body[key];
  if (!v.is_number()) bad(key, fmt::format("'{}' must be a number, got {}", key, v.dump()));
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) bad(key, fmt::format("'{}' must be in [{}, {}], got {}", key, lo, hi, v.dump()));
  return d;
}

std::optional<int64_t> integer(const json& body, const char* key, int64_t lo, int64_t hi) {
  if (!present(body, key)) return std::nullopt;
  const json& v = body[key];
  if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>())) {
    bad(key, fmt::format("'{}' must be an integer, got {}", key, v.dump()));
  }
  const double d = v.get<double>();
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    bad(key, fmt::format("'{}' must be in [{}, {}], got {}", key, lo, hi, v.dump()));
  }
  return v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
}

std::optional<bool> boolean(const json& body, const char* key) {
  if (!present(body, key)) return std::nullopt;
  if (!body[key].is_boolean()) bad(key, fmt::format("'{}' must be true or false, got {}", key, body[key].dump()));
  return body[key].get<bool>();
}

// Sampling, limits and streaming fields both endpoints share.
void parse_common(const json& body, const ServedModel& m, const SamplingParams& defaults, GenerationJob& job) {
  SamplingParams& s = job.sampling;
  s = defaults;
  if (auto v = number(body, "temperature", 0, 2)) s.temperature = static_cast<float>(*v);
  if (auto v = number(body, "top_p", 0, 1)) {
    if (*v <= 0) bad("top_p", "'top_p' must be in (0, 1], got 0");
    s.top_p = static_cast<float>(*v);
  }
  if (auto v = integer(body, "top_k", -1, 1 << 30)) s.top_k = *v <= 0 ? 0 : static_cast<int>(*v);
  if (auto v = number(body, "min_p", 0, 1)) s.min_p = static_cast<float>(*v);
  if (auto v = number(body, "presence_penalty", -2, 2)) s.presence_penalty = static_cast<float>(*v);
  if (auto v = number(body, "frequency_penalty", -2, 2)) s.frequency_penalty = static_cast<float>(*v);
  if (auto v = number(body, "repetition_penalty", 1e-6, 1e6)) s.repetition_penalty = static_cast<float>(*v);
  if (auto v = integer(body, "seed", INT64_MIN, INT64_MAX)) {
    s.seed = static_cast<uint64_t>(*v);
  } else {
    s.seed = std::random_device{}();
  }
  if (auto v = integer(body, "n", 1, 1 << 30); v && *v != 1) bad("n", "only n = 1 is supported");
  if (auto v = integer(body, "best_of", 1, 1 << 30); v && *v != 1) bad("best_of", "only best_of = 1 is supported");

  std::optional<int64_t> max = integer(body, "max_completion_tokens", 1, INT32_MAX);
  if (!max) max = integer(body, "max_tokens", 1, INT32_MAX);
  if (auto v = integer(body, "min_tokens", 0, INT32_MAX)) job.min_tokens = static_cast<int>(*v);
  if (max && job.min_tokens > *max) bad("min_tokens", fmt::format("'min_tokens' ({}) must not exceed max_tokens ({})", job.min_tokens, *max));
  if (auto v = boolean(body, "ignore_eos")) job.ignore_eos = *v;
  if (auto v = boolean(body, "skip_special_tokens")) job.skip_special = *v;

  if (present(body, "stop")) {
    const json& stop = body["stop"];
    if (stop.is_string()) {
      job.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array()) {
      for (const json& s1 : stop) {
        if (!s1.is_string()) bad("stop", "'stop' must be a string or a list of strings");
        job.stop.push_back(s1.get<std::string>());
      }
    } else {
      bad("stop", "'stop' must be a string or a list of strings");
    }
    std::erase_if(job.stop, [](const std::string& x) { return x.empty(); });
  }
  if (present(body, "stop_token_ids")) {
    const json& ids = body["stop_token_ids"];
    if (!ids.is_array()) bad("stop_token_ids", "'stop_token_ids' must be a list of token ids");
    for (const json& id : ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= m.assets->tokenizer->vocab_size()) {
        bad("stop_token_ids", fmt::format("'stop_token_ids' has an invalid token id {}", id.dump()));
      }
      job.stop_token_ids.push_back(id.get<int32_t>());
    }
  }

  if (auto v = boolean(body, "stream")) job.stream = *v;
  if (present(body, "stream_options")) {
    const json& so = body["stream_options"];
    if (!so.is_object()) bad("stream_options", "'stream_options' must be an object");
    if (!job.stream) bad("stream_options", "'stream_options' is only allowed when 'stream' is true");
    if (auto v = boolean(so, "include_usage")) job.include_usage = *v;
  }
  if (present(body, "response_format")) {
    const json& rf = body["response_format"];
    if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string()) bad("response_format", "'response_format' must be an object with a 'type'");
    if (rf["type"] != "text") {
      bad("response_format", fmt::format("response_format type '{}' is not supported (only 'text'): this server has no "
                                         "constrained decoding", rf["type"].get<std::string>()));
    }
  }
  try {
    s.validate();
  } catch (const Error& e) {
    bad("", e.what());
  }

  // The context: the prompt plus what may be generated must fit.
  const auto n = static_cast<int64_t>(job.prompt.size());
  const int64_t L = m.max_model_len;
  const char* what = job.chat ? "messages" : "prompt";
  if (n == 0) bad(what, "the prompt is empty: at least one token is needed");
  if (n >= L) {
    bad(what, fmt::format("This model's maximum context length is {} tokens. However, your request has {} input tokens. "
                          "Please reduce the length of the input.",
                          L, n));
  }
  if (max && n + *max > L) {
    bad(body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens",
        fmt::format("'max_tokens' or 'max_completion_tokens' is too large: {}. This model's maximum context length is {} "
                    "tokens and your request has {} input tokens ({} > {} - {}).",
                    *max, L, n, *max, L, n));
  }
  // Chat answers may fill the context; completions stop at 16 tokens unless told, as OpenAI and vLLM do.
  job.max_tokens = static_cast<int>(max ? *max : job.chat ? L - n : std::min<int64_t>(16, L - n));
  job.min_tokens = std::min(job.min_tokens, job.max_tokens);
}

// A message's content as the Qwen templates want it: a string (text parts joined by newlines,
// as vLLM flattens them for string-content templates).
json flatten_content(const json& content, size_t index) {
  if (content.is_null() || content.is_string()) return content;
  const std::string param = fmt::format("messages[{}].content", index);
  if (!content.is_array()) bad(param, "a message's content must be a string or a list of content parts");
  std::string text;
  bool first = true;
  for (const json& part : content) {
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) bad(param, "each content part needs a 'type'");
    const std::string type = part["type"].get<std::string>();
    if (type != "text") bad(param, fmt::format("content parts of type '{}' are not supported: the model takes text only", type));
    if (!part.contains("text") || !part["text"].is_string()) bad(param, "a text content part needs a string 'text'");
    if (!first) text += "\n";
    text += part["text"].get<std::string>();
    first = false;
  }
  return text;
}

json checked_messages(const json& body) {
  if (!body.contains("messages")) bad("messages", "'messages' is required");
  const json& in = body["messages"];
  if (!in.is_array()) bad("messages", "'messages' must be a list of messages");
  if (in.empty()) bad("messages", "'messages' must not be empty");
  json out = json::array();
  for (size_t i = 0; i < in.size(); ++i) {
    const json& msg = in[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!msg.is_object()) bad(where, fmt::format("{} must be an object", where));
    if (!msg.contains("role") || !msg["role"].is_string()) bad(where + ".role", fmt::format("{} needs a string 'role'", where));
    std::string role = msg["role"].get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for the system role
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      bad(where + ".role", fmt::format("{} has role '{}': expected system, developer, user, assistant or tool", where, role));
    }
    json m = msg;
    m["role"] = role;
    if (msg.contains("content")) m["content"] = flatten_content(msg["content"], i);
    // An assistant turn that only calls tools may leave content out or null; the templates read it.
    if (role == "assistant" && (!m.contains("content") || m["content"].is_null())) m["content"] = "";
    if (role != "assistant" && (!m.contains("content") || !m["content"].is_string())) {
      bad(where + ".content", fmt::format("{} ({}) needs a string 'content'", where, role));
    }
    if (role == "assistant" && present(msg, "tool_calls")) {
      const json& calls = msg["tool_calls"];
      if (!calls.is_array()) bad(where + ".tool_calls", "'tool_calls' must be a list");
      for (size_t j = 0; j < calls.size(); ++j) {
        json& call = m["tool_calls"][j];
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object() || !call["function"].contains("name") ||
            !call["function"]["name"].is_string()) {
          bad(where + ".tool_calls", "each tool call needs a 'function' with a string 'name'");
        }
        // The templates write arguments given as a mapping with tojson; vLLM hands them one.
        json& args = call["function"]["arguments"];
        if (args.is_string()) {
          json parsed = json::parse(args.get<std::string>(), nullptr, false);
          if (!parsed.is_discarded() && parsed.is_object()) args = parsed;
        }
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string tool_choice_prefix(const GenerationJob& job, bool xml) {
  std::string p = job.starts_in_reasoning ? "</think>\n\n" : "";
  p += "<tool_call>\n";
  if (job.tool_choice == ToolChoice::Named) {
    p += xml ? "<function=" + job.tool_name + ">\n" : "{\"name\": \"" + job.tool_name + "\", \"arguments\": ";
  }
  return p;
}

}  // namespace

json ApiError::body() const {
  json e = {{"message", what()}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)}};
  e["code"] = code.empty() ? json(status) : json(code);
  return json{{"error", e}};
}

json parse_body(const std::string& text) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::exception& e) {
    bad("", fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  return body;
}

std::string requested_model(const json& body, const ServedModel& m) {
  if (!present(body, "model")) return m.names.front();
  if (!body["model"].is_string()) bad("model", "'model' must be a string");
  const std::string name = body["model"].get<std::string>();
  if (std::find(m.names.begin(), m.names.end(), name) == m.names.end()) {
    throw ApiError(404, fmt::format("The model `{}` does not exist.", name), "model", "invalid_request_error", "model_not_found");
  }
  return name;
}

chat::ChatRequest checked_chat_request(const json& body) {
  chat::ChatRequest req;
  req.messages = checked_messages(body);
  req.add_generation_prompt = true;
  if (auto v = boolean(body, "add_generation_prompt")) req.add_generation_prompt = *v;
  if (auto v = boolean(body, "continue_final_message")) req.continue_final_message = *v;
  if (req.continue_final_message) req.add_generation_prompt = present(body, "add_generation_prompt") && req.add_generation_prompt;
  if (present(body, "chat_template_kwargs")) {
    if (!body["chat_template_kwargs"].is_object()) bad("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    req.variables = body["chat_template_kwargs"];
  }
  if (present(body, "tools")) {
    const json& tools = body["tools"];
    if (!tools.is_array()) bad("tools", "'tools' must be a list");
    for (size_t i = 0; i < tools.size(); ++i) {
      const json& t = tools[i];
      if (!t.is_object() || !t.contains("function") || !t["function"].is_object() || !t["function"].contains("name") ||
          !t["function"]["name"].is_string()) {
        bad(fmt::format("tools[{}]", i), fmt::format("tools[{}] must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}", i));
      }
      if (t.contains("type") && t["type"] != "function") bad(fmt::format("tools[{}].type", i), "only tools of type 'function' are supported");
    }
    if (!tools.empty()) req.tools = tools;
  }
  return req;
}

std::string render_checked(const chat::ChatRequest& req, const ServedModel& m) {
  if (!m.chat_template) throw ApiError(400, "this model has no chat template: use /v1/completions with a raw prompt", "messages");
  try {
    return render_chat_prompt(*m.assets, *m.chat_template, req);
  } catch (const chat::TemplateError& e) {
    bad("messages", fmt::format("the chat template failed on this request: {}", e.what()));
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    bad("messages", e.what());
  }
}

GenerationJob parse_chat_request(const json& body, const ServedModel& m) {
  GenerationJob job;
  job.chat = true;
  job.model = requested_model(body, m);
  if (!m.chat_template) throw ApiError(400, "this model has no chat template: use /v1/completions with a raw prompt", "messages");
  chat::ChatRequest req = checked_chat_request(body);
  job.tools = req.tools;

  // The choice among the tools.
  job.tool_choice = job.tools.is_null() ? ToolChoice::None : ToolChoice::Auto;
  if (present(body, "tool_choice")) {
    const json& tc = body["tool_choice"];
    if (tc.is_string()) {
      const std::string c = tc.get<std::string>();
      if (c == "none") {
        job.tool_choice = ToolChoice::None;
      } else if (c == "auto") {
        job.tool_choice = job.tools.is_null() ? ToolChoice::None : ToolChoice::Auto;
      } else if (c == "required") {
        if (job.tools.is_null()) bad("tool_choice", "tool_choice 'required' needs 'tools'");
        job.tool_choice = ToolChoice::Required;
      } else {
        bad("tool_choice", fmt::format("tool_choice '{}' is not one of none, auto, required", c));
      }
    } else if (tc.is_object() && tc.contains("function") && tc["function"].is_object() && tc["function"].contains("name") &&
               tc["function"]["name"].is_string()) {
      job.tool_name = tc["function"]["name"].get<std::string>();
      bool known = false;
      for (const json& t : job.tools.is_null() ? json::array() : job.tools) known |= t["function"]["name"] == job.tool_name;
      if (!known) bad("tool_choice", fmt::format("tool_choice names the function '{}', which is not among the request's tools", job.tool_name));
      job.tool_choice = ToolChoice::Named;
    } else {
      bad("tool_choice", "tool_choice must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": ...}}");
    }
  }
  if (present(body, "logprobs") || present(body, "top_logprobs")) {
    const bool lp = boolean(body, "logprobs").value_or(false);
    const auto top = integer(body, "top_logprobs", 0, 20);
    if (top && !lp) bad("top_logprobs", "'top_logprobs' needs 'logprobs' set to true");
    if (lp) job.logprobs = static_cast<int>(top.value_or(0));
  }

  job.prompt_text = render_checked(req, m);
  const text::Tokenizer& tok = *m.assets->tokenizer;
  job.split_reasoning = tok.find_token("<think>").has_value() && tok.find_token("</think>").has_value();
  job.starts_in_reasoning = job.split_reasoning && chat::prompt_opens_reasoning(job.prompt_text);
  if (job.tool_choice == ToolChoice::Required || job.tool_choice == ToolChoice::Named) {
    job.forced_prefix = tool_choice_prefix(job, m.xml_tool_calls);
  }
  job.prompt = tok.encode(job.prompt_text + job.forced_prefix);

  const bool thinking_off = req.variables.contains("enable_thinking") && req.variables["enable_thinking"].is_boolean() &&
                            !req.variables["enable_thinking"].get<bool>();
  parse_common(body, m, thinking_off ? m.defaults.non_thinking : m.defaults.thinking, job);
  return job;
}

GenerationJob parse_completion_request(const json& body, const ServedModel& m) {
  GenerationJob job;
  job.chat = false;
  job.model = requested_model(body, m);
  if (!body.contains("prompt")) bad("prompt", "'prompt' is required");
  json prompt = body["prompt"];
  if (prompt.is_array() && prompt.size() == 1 && (prompt[0].is_string() || prompt[0].is_array())) prompt = json(prompt[0]);
  const text::Tokenizer& tok = *m.assets->tokenizer;
  if (prompt.is_string()) {
    job.prompt_text = prompt.get<std::string>();
    job.prompt = tok.encode(job.prompt_text);
  } else if (prompt.is_array()) {
    for (const json& id : prompt) {
      if (id.is_string()) bad("prompt", "only one prompt per request is supported");
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= tok.vocab_size()) {
        bad("prompt", fmt::format("the prompt has an invalid token id {} (the vocabulary has {} tokens)", id.dump(), tok.vocab_size()));
      }
      job.prompt.push_back(id.get<int32_t>());
    }
    job.prompt_text = tok.decode(job.prompt);
  } else {
    bad("prompt", "'prompt' must be a string or a list of token ids");
  }
  if (present(body, "suffix")) bad("suffix", "'suffix' is not supported");
  if (auto v = integer(body, "logprobs", 0, 20)) job.logprobs = static_cast<int>(*v);
  if (auto v = boolean(body, "echo")) job.echo = *v;
  parse_common(body, m, m.defaults.non_thinking, job);
  return job;
}

}  // namespace qwenrt::server
