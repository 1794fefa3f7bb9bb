#pragma once
// A conversation with a model, turn by turn: the history goes through the model's chat template
// on every turn, the reply streams out split into reasoning and content, and the model state
// keeps the conversation's tokens so that a new turn only runs what changed (all of it after
// the first difference for attention models; the whole prompt again when a linear-attention
// state cannot be rewound, e.g. after the template dropped the last turn's thinking).
#include "api/runtime.h"
#include "api/text_assets.h"
#include "chat/chat_template.h"
#include "chat/reasoning.h"
#include "engine/sampler.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qwenrt {

struct ChatOptions {
  SamplingParams sampling;
  int max_tokens = -1;  // -1: until the context is full
  std::vector<std::string> stop;
  int64_t ctx_size = 0;     // 0: the model's training context, capped at 8192
  bool drop_oldest = false;  // drop the oldest turns when the conversation outgrows the context
  std::string system;        // system message ("" for none)
  DType kv_type = DType::F32;  // the KV cache: F32, or F16 (half the memory)
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
};

// Qwen3's soft switch, appended to each user turn while set (the model card's "/think", "/no_think").
enum class ThinkingSwitch { None, Think, NoThink };

struct TurnResult {
  std::string reasoning, content;
  std::string finish_reason;  // "stop" (end of generation or a stop string), "length", "cancelled"
  int64_t prompt_tokens = 0;  // the whole rendered prompt
  int64_t prompt_tokens_run = 0;  // of which the model had to run (the rest was cached)
  int64_t generated_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;
  int dropped_turns = 0;  // turns dropped to fit the context
};

// Produces tokens continuing `context` until `on_token` returns false or `max_tokens` are made.
// The model is the real source; tests plug in a scripted one.
using TokenSource = std::function<void(const std::vector<int32_t>& context, const SamplingParams& sampling, int max_tokens,
                                       const std::function<bool(int32_t)>& on_token)>;

class ChatSession {
 public:
  // `source` empty: generate with the runtime's model.
  ChatSession(Runtime& runtime, TextAssets assets, ChatOptions options, TokenSource source = {});
  ~ChatSession();

  // Sends a user turn and streams the reply to `on_piece`. `cancel`, when it turns true, ends the
  // reply early (what was generated is kept). Throws Error when the prompt does not fit.
  TurnResult send(const std::string& user_text, const std::function<void(const chat::ReasoningPiece&)>& on_piece,
                  const std::atomic<bool>* cancel = nullptr);

  void clear();  // forget the conversation (the system message stays)
  ChatOptions& options() { return options_; }
  void set_thinking_switch(ThinkingSwitch s) { switch_ = s; }
  ThinkingSwitch thinking_switch() const { return switch_; }
  const nlohmann::ordered_json& messages() const { return messages_; }
  int64_t context_size() const { return ctx_size_; }
  const TextAssets& assets() const { return assets_; }

  // The prompt the next turn would send for `messages` (for tests and --verbose).
  std::string render(const nlohmann::ordered_json& messages) const;

 private:
  std::vector<int32_t> run_model(const std::vector<int32_t>& context, const SamplingParams& sampling, int max_tokens,
                                 const std::function<bool(int32_t)>& on_token, size_t& kept);

  Runtime& runtime_;
  TextAssets assets_;
  ChatOptions options_;
  TokenSource source_;
  chat::ChatTemplate template_;
  int64_t ctx_size_;
  ThinkingSwitch switch_ = ThinkingSwitch::None;
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
  std::unique_ptr<ModelState> state_;
  std::vector<int32_t> cached_;  // the tokens state_ holds for sequence 0
};

}  // namespace qwenrt
