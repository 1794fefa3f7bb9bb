#pragma once
// Splits a model's streamed output into its reasoning ("thinking") and its reply, the way Qwen's
// parsers do: the reasoning is what lies between <think> and </think> at the start of the
// output, or before </think> when the prompt itself opened the block (Qwen3.5 and the 2507
// thinking models end the generation prompt with "<think>\n"). As Qwen3's template and
// transformers' examples strip them, newlines just inside the tags and after </think> are
// dropped. Text is released as soon as it cannot be part of a tag.
#include <string>
#include <string_view>

namespace qwenrt::chat {

struct ReasoningPiece {
  std::string reasoning;
  std::string content;
  bool empty() const { return reasoning.empty() && content.empty(); }
};

class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(bool starts_in_reasoning, std::string open_tag = "<think>", std::string close_tag = "</think>");

  ReasoningPiece push(std::string_view text);
  ReasoningPiece finish();  // releases what was held back

  bool in_reasoning() const { return state_ == State::Reasoning || state_ == State::ReasoningStart; }

 private:
  enum class State { Start, ReasoningStart, Reasoning, ContentStart, Content };
  void step(ReasoningPiece& out, bool final);

  std::string open_, close_;
  State state_;
  std::string pending_;
};

// True when a rendered generation prompt leaves the model inside an open <think> block.
bool prompt_opens_reasoning(std::string_view prompt, std::string_view open_tag = "<think>", std::string_view close_tag = "</think>");

}  // namespace qwenrt::chat
