#pragma once
// Tool calls in a model's reply, in the two forms Qwen models write them:
//   Qwen3 (Hermes style):      <tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>
//   Qwen3-Coder and Qwen3.5:   <tool_call>\n<function=f>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>
// turned into OpenAI tool calls: a name and the arguments as the text of a JSON object, written as
// Python's json.dumps writes it (vLLM's output). Coder-form values are typed by the tool's JSON
// schema, as vLLM's qwen3_coder parser types them. Text that only looks like a call (no closing tag,
// JSON that does not parse, no name) stays content, verbatim.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace qwenrt::chat {

struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object's text
  bool operator==(const ToolCall&) const = default;
};

// The parameter schemas of the request's tools (OpenAI's `tools` array), by function name.
class ToolSchemas {
 public:
  ToolSchemas() = default;
  explicit ToolSchemas(const nlohmann::ordered_json& tools);
  // The JSON schema "type" of a function's parameter ("" when not declared).
  std::string parameter_type(const std::string& function, const std::string& parameter) const;

 private:
  nlohmann::ordered_json by_name_ = nlohmann::ordered_json::object();
};

struct ToolParse {
  std::string content;  // the text around the calls (whitespace-only text between and after them dropped)
  std::vector<ToolCall> calls;
};

// The calls in a complete reply (its content part, after any reasoning).
ToolParse parse_tool_calls(std::string_view text, const ToolSchemas& schemas = {});

// One block's call, or nothing when the block is not a well-formed call. `block` is the text
// between <tool_call> and </tool_call>.
bool parse_tool_call_block(std::string_view block, const ToolSchemas& schemas, ToolCall& out);

// The same split for a streamed reply: text is released as content as soon as it cannot be the
// start of a <tool_call> tag; a call is released whole when its closing tag arrives, as OpenAI
// streams a call: a first delta with the name and empty arguments, then the arguments.
class ToolCallStream {
 public:
  struct Delta {
    int index = 0;
    std::string name;       // set in a call's first delta
    std::string arguments;  // a piece of the arguments' text
  };
  struct Out {
    std::string content;
    std::vector<Delta> calls;
    bool empty() const { return content.empty() && calls.empty(); }
  };

  explicit ToolCallStream(ToolSchemas schemas = {}) : schemas_(std::move(schemas)) {}
  Out push(std::string_view text);
  Out finish();  // releases what was held back: an unclosed call comes back as content
  int calls() const { return n_calls_; }

 private:
  void release_text(Out& out, std::string_view text, bool final);

  ToolSchemas schemas_;
  std::string pending_;   // text not yet released
  bool in_call_ = false;     // pending_ holds a block opened by <tool_call>
  std::string held_space_;  // trailing whitespace: content only if more content follows
  bool after_call_ = false;  // no content since the last call: leading whitespace is dropped
  size_t scanned_ = 0;       // bytes of an open call's pending_ searched for the closing tag
  int n_calls_ = 0;
};

// JSON text as Python's json.dumps(value, ensure_ascii=False) writes it: ", " and ": " separators.
std::string python_json(const nlohmann::ordered_json& value);

}  // namespace qwenrt::chat
