#include "api/chat_session.h"

#include "api/chat_prompt.h"
#include "base/error.h"
#include "base/timer.h"
#include "engine/generate.h"
#include "engine/stop_strings.h"

#include <algorithm>

namespace qwenrt {
namespace {

using json = nlohmann::ordered_json;

// Removes the oldest user turn and the replies that follow it; the system message and the
// newest user turn always stay. Returns false when nothing can go.
bool drop_oldest_turn(json& messages) {
  size_t first = 0;
  while (first < messages.size() && messages[first].value("role", "") == "system") ++first;
  size_t end = first + 1;
  while (end < messages.size() && messages[end].value("role", "") != "user") ++end;
  if (end >= messages.size()) return false;  // that turn is the newest one
  messages.erase(messages.begin() + static_cast<ptrdiff_t>(first), messages.begin() + static_cast<ptrdiff_t>(end));
  return true;
}

}  // namespace

ChatSession::ChatSession(Runtime& runtime, TextAssets assets, ChatOptions options, TokenSource source)
    : runtime_(runtime),
      assets_(std::move(assets)),
      options_(std::move(options)),
      source_(std::move(source)),
      template_(model_chat_template(assets_)) {
  const int64_t trained = runtime_.model().info().n_ctx_train;
  ctx_size_ = options_.ctx_size > 0 ? options_.ctx_size : std::min<int64_t>(trained > 0 ? trained : 8192, 8192);
  options_.sampling.validate();
  clear();
}

ChatSession::~ChatSession() = default;

void ChatSession::clear() {
  messages_ = json::array();
  if (!options_.system.empty()) messages_.push_back({{"role", "system"}, {"content", options_.system}});
}

std::string ChatSession::render(const json& messages) const {
  chat::ChatRequest request;
  request.messages = messages;
  request.add_generation_prompt = true;
  request.variables = options_.template_kwargs.is_object() ? options_.template_kwargs : json::object();
  return render_chat_prompt(assets_, template_, request);
}

std::vector<int32_t> ChatSession::run_model(const std::vector<int32_t>& context, const SamplingParams& sampling,
                                            int max_tokens, const std::function<bool(int32_t)>& on_token, size_t& kept) {
  const Model& model = runtime_.model();
  if (!state_) state_ = model.new_state({0, options_.kv_type});
  // Keep the longest cached prefix the state can rewind to, and run at least one token.
  size_t keep = 0;
  while (keep < cached_.size() && keep < context.size() && cached_[keep] == context[keep]) ++keep;
  if (keep == context.size()) --keep;
  if (keep < cached_.size()) {
    try {
      state_->truncate(0, static_cast<int64_t>(keep));
    } catch (const Error&) {
      state_->release(0);  // a linear-attention state only moves forward: start over
      keep = 0;
    }
  }
  cached_.resize(keep);
  kept = keep;
  GenerateParams params;
  params.max_new_tokens = max_tokens;
  params.sampling = sampling;
  std::vector<int32_t> out;
  try {
    out = generate(model, *state_, runtime_.context(), 0, context, params,
                   [&](int32_t token, const float*, int64_t) { return on_token(token); });
  } catch (...) {
    state_->release(0);
    cached_.clear();
    throw;
  }
  cached_ = context;
  cached_.insert(cached_.end(), out.begin(), out.end());
  cached_.resize(static_cast<size_t>(state_->length(0)));
  return out;
}

TurnResult ChatSession::send(const std::string& user_text, const std::function<void(const chat::ReasoningPiece&)>& on_piece,
                             const std::atomic<bool>* cancel) {
  TurnResult result;
  json messages = messages_;
  std::string text = user_text;
  if (switch_ == ThinkingSwitch::Think) text += " /think";
  if (switch_ == ThinkingSwitch::NoThink) text += " /no_think";
  messages.push_back({{"role", "user"}, {"content", text}});

  std::string prompt;
  std::vector<int32_t> context;
  while (true) {
    prompt = render(messages);
    context = assets_.tokenizer->encode(prompt);
    if (static_cast<int64_t>(context.size()) < ctx_size_) break;  // room for one token at least
    if (!options_.drop_oldest || !drop_oldest_turn(messages)) {
      fail("the conversation ({} tokens) no longer fits the context of {} tokens: /clear it, or start again with a "
           "larger --ctx-size or with --drop-oldest",
           context.size(), ctx_size_);
    }
    ++result.dropped_turns;
  }
  const int64_t room = ctx_size_ - static_cast<int64_t>(context.size());
  const int max_tokens = static_cast<int>(options_.max_tokens < 0 ? room : std::min<int64_t>(options_.max_tokens, room));

  std::vector<int32_t> stop_ids = runtime_.model().info().eos_ids;
  for (int32_t id : assets_.eos_ids) {
    if (std::find(stop_ids.begin(), stop_ids.end(), id) == stop_ids.end()) stop_ids.push_back(id);
  }
  text::IncrementalDecoder decoder(*assets_.tokenizer);
  StopStrings stops(options_.stop);
  chat::ReasoningSplitter splitter(chat::prompt_opens_reasoning(prompt));
  auto emit = [&](const chat::ReasoningPiece& piece) {
    result.reasoning += piece.reasoning;
    result.content += piece.content;
    if (!piece.empty() && on_piece) on_piece(piece);
  };

  Timer timer;
  bool first = true;
  result.finish_reason = "length";
  auto on_token = [&](int32_t token) {
    if (first) {
      result.prompt_seconds = timer.seconds();
      first = false;
    }
    ++result.generated_tokens;
    if (std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
      result.finish_reason = "stop";
      return false;
    }
    emit(splitter.push(stops.push(decoder.push(token))));
    if (stops.stopped()) {
      result.finish_reason = "stop";
      return false;
    }
    if (cancel && cancel->load()) {
      result.finish_reason = "cancelled";
      return false;
    }
    return true;
  };
  result.prompt_tokens = static_cast<int64_t>(context.size());
  if (source_) {
    result.prompt_tokens_run = result.prompt_tokens;
    source_(context, options_.sampling, max_tokens, on_token);
  } else {
    size_t kept = 0;
    run_model(context, options_.sampling, max_tokens, on_token, kept);
    result.prompt_tokens_run = result.prompt_tokens - static_cast<int64_t>(kept);
  }
  result.generate_seconds = timer.seconds() - result.prompt_seconds;
  if (!stops.stopped()) emit(splitter.push(stops.push(decoder.finish())));
  emit(splitter.push(stops.finish()));
  emit(splitter.finish());

  // The reply joins the history as the template expects it: the thinking apart, so that the
  // template can drop it from earlier turns.
  json reply = {{"role", "assistant"}, {"content", result.content}};
  if (!result.reasoning.empty()) reply["reasoning_content"] = result.reasoning;
  messages.push_back(std::move(reply));
  messages_ = std::move(messages);
  return result;
}

}  // namespace qwenrt
