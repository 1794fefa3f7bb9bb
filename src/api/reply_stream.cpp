#include "api/reply_stream.h"

namespace qwenrt {

void ReplyDelta::append(ReplyDelta&& other) {
  reasoning += other.reasoning;
  content += other.content;
  for (auto& d : other.tool_calls) tool_calls.push_back(std::move(d));
}

ReplyStream::ReplyStream(const text::Tokenizer& tokenizer, ReplyOptions options)
    : decoder_(tokenizer, options.skip_special), stops_(options.stop) {
  if (options.split_reasoning) splitter_.emplace(options.starts_in_reasoning);
  if (options.parse_tool_calls) tools_.emplace(std::move(options.tool_schemas));
}

ReplyDelta ReplyStream::route(std::string text, bool final) {
  ReplyDelta out;
  chat::ReasoningPiece piece;
  if (splitter_) {
    piece = splitter_->push(text);
    if (final) {
      chat::ReasoningPiece rest = splitter_->finish();
      piece.reasoning += rest.reasoning;
      piece.content += rest.content;
    }
  } else {
    piece.content = std::move(text);
  }
  out.reasoning = std::move(piece.reasoning);
  if (tools_) {
    chat::ToolCallStream::Out t = tools_->push(piece.content);
    if (final) {
      chat::ToolCallStream::Out rest = tools_->finish();
      t.content += rest.content;
      for (auto& c : rest.calls) t.calls.push_back(std::move(c));
    }
    out.content = std::move(t.content);
    out.tool_calls = std::move(t.calls);
  } else {
    out.content = std::move(piece.content);
  }
  return out;
}

ReplyDelta ReplyStream::push(int32_t token) {
  if (finished_ || stops_.stopped()) return {};
  return route(stops_.push(decoder_.push(token)), false);
}

ReplyDelta ReplyStream::push_text(const std::string& text) {
  if (finished_ || stops_.stopped()) return {};
  return route(stops_.push(text), false);
}

ReplyDelta ReplyStream::finish() {
  if (finished_) return {};
  finished_ = true;
  std::string rest;
  if (!stops_.stopped()) rest = stops_.push(decoder_.finish());
  rest += stops_.finish();
  return route(std::move(rest), true);
}

}  // namespace qwenrt
