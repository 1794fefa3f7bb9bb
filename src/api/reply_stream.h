#pragma once
// A model's reply as it streams, token by token, turned into what a client is shown: the text
// decoded without splitting UTF-8 characters, stop strings cut out (even across tokens), the
// thinking split from the answer (as Qwen's reasoning parser does) and tool calls parsed out of
// the answer in either Qwen form. The server's chat endpoint and `run` see the same pipeline.
#include "chat/reasoning.h"
#include "chat/tool_calls.h"
#include "engine/stop_strings.h"
#include "text/tokenizer.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qwenrt {

struct ReplyDelta {
  std::string reasoning;
  std::string content;
  std::vector<chat::ToolCallStream::Delta> tool_calls;
  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
  void append(ReplyDelta&& other);
};

struct ReplyOptions {
  std::vector<std::string> stop;  // stop strings
  bool split_reasoning = false;   // separate <think> ... </think> from the answer
  bool starts_in_reasoning = false;  // the prompt opened a <think> block
  bool parse_tool_calls = false;
  chat::ToolSchemas tool_schemas;
  bool skip_special = true;       // leave special tokens (<|im_end|> ...) out of the text
};

class ReplyStream {
 public:
  ReplyStream(const text::Tokenizer& tokenizer, ReplyOptions options);

  ReplyDelta push(int32_t token);
  // Releases what was held back (an unfinished tag, a partial stop string that never completed).
  ReplyDelta finish();
  // Text given as if the model had produced it (a forced prefix), parsed like the rest.
  ReplyDelta push_text(const std::string& text);

  bool stopped() const { return stops_.stopped(); }       // a stop string matched: end the sequence
  const std::string& matched_stop() const { return stops_.matched(); }
  int tool_calls() const { return tools_ ? tools_->calls() : 0; }

 private:
  ReplyDelta route(std::string text, bool final);

  text::IncrementalDecoder decoder_;
  StopStrings stops_;
  std::optional<chat::ReasoningSplitter> splitter_;
  std::optional<chat::ToolCallStream> tools_;
  bool finished_ = false;
};

}  // namespace qwenrt
