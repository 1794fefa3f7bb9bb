#include "chat/reasoning.h"

#include <algorithm>
#include <utility>

namespace qwenrt::chat {
namespace {

// Length of the longest tail of `s` that is a proper prefix of `tag`.
size_t partial_tag_tail(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(tag.size() - 1, s.size()); n > 0; --n) {
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool starts_in_reasoning, std::string open_tag, std::string close_tag)
    : open_(std::move(open_tag)), close_(std::move(close_tag)), state_(starts_in_reasoning ? State::ReasoningStart : State::Start) {}

ReasoningPiece ReasoningSplitter::push(std::string_view text) {
  pending_ += text;
  ReasoningPiece out;
  step(out, false);
  return out;
}

ReasoningPiece ReasoningSplitter::finish() {
  ReasoningPiece out;
  step(out, true);
  return out;
}

void ReasoningSplitter::step(ReasoningPiece& out, bool final) {
  while (true) {
    switch (state_) {
      case State::Start: {
        // Leading whitespace, then either the open tag or the reply itself.
        const size_t first = pending_.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) {
          if (final) pending_.clear();
          return;
        }
        const std::string_view rest = std::string_view(pending_).substr(first);
        if (rest.starts_with(open_)) {
          pending_.erase(0, first + open_.size());
          state_ = State::ReasoningStart;
        } else if (!final && std::string_view(open_).starts_with(rest)) {
          return;  // maybe the tag, not complete yet
        } else {
          state_ = State::Content;
        }
        break;
      }
      case State::ReasoningStart:
      case State::ContentStart: {
        const size_t first = pending_.find_first_not_of('\n');
        pending_.erase(0, first == std::string::npos ? pending_.size() : first);
        if (pending_.empty()) return;
        state_ = state_ == State::ReasoningStart ? State::Reasoning : State::Content;
        break;
      }
      case State::Reasoning: {
        const size_t at = pending_.find(close_);
        if (at != std::string::npos) {
          std::string_view body = std::string_view(pending_).substr(0, at);
          while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
          out.reasoning += body;
          pending_.erase(0, at + close_.size());
          state_ = State::ContentStart;
          break;
        }
        if (final) {
          out.reasoning += std::exchange(pending_, {});
          return;
        }
        // Hold back a possible start of the close tag and the newlines before it.
        size_t keep = partial_tag_tail(pending_, close_);
        while (keep < pending_.size() && pending_[pending_.size() - keep - 1] == '\n') ++keep;
        out.reasoning += pending_.substr(0, pending_.size() - keep);
        pending_.erase(0, pending_.size() - keep);
        return;
      }
      case State::Content:
        out.content += std::exchange(pending_, {});
        return;
    }
  }
}

bool prompt_opens_reasoning(std::string_view prompt, std::string_view open_tag, std::string_view close_tag) {
  const size_t open = prompt.rfind(open_tag);
  if (open == std::string_view::npos) return false;
  const size_t close = prompt.rfind(close_tag);
  if (close != std::string_view::npos && close > open) return false;
  // Only whitespace may follow the open tag.
  return prompt.substr(open + open_tag.size()).find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace qwenrt::chat
