// ChatSession: history through the template, thinking split from the reply and dropped from
// earlier turns, the soft switch, stop strings, cancelling, the context limit, and the cached
// prefix giving the same replies as running every prompt from scratch.
#include "api/chat_session.h"
#include "api/generation_defaults.h"
#include "engine/generate.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace qwenrt {
namespace {

using test::data_path;

const std::string kModel = data_path("models/qwen3-untied");

// Replies with scripted text, token by token, and records every prompt it was given.
struct Script {
  std::vector<std::string> replies;
  std::vector<std::string> prompts;
  int max_tokens_seen = 0;
  size_t next = 0;
};

TokenSource scripted(Script& script, const text::Tokenizer& tok) {
  return [&script, &tok](const std::vector<int32_t>& context, const SamplingParams&, int max_tokens,
                         const std::function<bool(int32_t)>& on_token) {
    script.prompts.push_back(tok.decode(context));
    script.max_tokens_seen = max_tokens;
    std::vector<int32_t> ids = tok.encode(script.replies.at(script.next++));
    ids.push_back(*tok.find_token("<|im_end|>"));
    int n = 0;
    for (int32_t id : ids) {
      if (n++ >= max_tokens || !on_token(id)) return;
    }
  };
}

struct Fixture : ::testing::Test {
  std::unique_ptr<Runtime> rt = Runtime::load(kModel, {1});
  TextAssets assets = load_text_assets(kModel, rt->model().info().n_vocab);
  Script script;
  std::unique_ptr<ChatSession> session(ChatOptions options = {}) {
    return std::make_unique<ChatSession>(*rt, assets, options, scripted(script, *assets.tokenizer));
  }
};

using ChatSessionScripted = Fixture;

TEST_F(ChatSessionScripted, ThinkingIsSplitStreamedAndDroppedFromEarlierTurns) {
  script.replies = {"<think>\nPondering the greeting.\n</think>\n\nHello to you!", "Second answer."};
  auto s = session();
  std::string streamed_reasoning, streamed_content;
  const TurnResult t1 = s->send("Hi", [&](const chat::ReasoningPiece& p) {
    streamed_reasoning += p.reasoning;
    streamed_content += p.content;
  });
  EXPECT_EQ(t1.reasoning, "Pondering the greeting.");
  EXPECT_EQ(t1.content, "Hello to you!");
  EXPECT_EQ(streamed_reasoning, t1.reasoning);
  EXPECT_EQ(streamed_content, t1.content);
  EXPECT_EQ(t1.finish_reason, "stop");
  EXPECT_EQ(script.prompts[0], "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");

  const TurnResult t2 = s->send("And now?", nullptr);
  EXPECT_EQ(t2.content, "Second answer.");
  // The template drops the first turn's thinking once a newer user turn follows.
  EXPECT_EQ(script.prompts[1],
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello to you!<|im_end|>\n"
            "<|im_start|>user\nAnd now?<|im_end|>\n<|im_start|>assistant\n");
  ASSERT_EQ(s->messages().size(), 4u);
  EXPECT_EQ(s->messages()[1]["reasoning_content"], "Pondering the greeting.");
  EXPECT_FALSE(s->messages()[3].contains("reasoning_content"));
}

TEST_F(ChatSessionScripted, SoftSwitchIsAppendedToEachUserTurnWhileSet) {
  script.replies = {"<think>\n\n</think>\n\nQuick.", "Again.", "Thought."};
  auto s = session();
  s->set_thinking_switch(ThinkingSwitch::NoThink);
  const TurnResult t1 = s->send("Be brief", nullptr);
  EXPECT_EQ(t1.reasoning, "");
  EXPECT_EQ(t1.content, "Quick.");
  EXPECT_NE(script.prompts[0].find("Be brief /no_think<|im_end|>"), std::string::npos);
  s->send("More", nullptr);
  EXPECT_NE(script.prompts[1].find("More /no_think<|im_end|>"), std::string::npos);
  s->set_thinking_switch(ThinkingSwitch::Think);
  s->send("Think", nullptr);
  EXPECT_NE(script.prompts[2].find("Think /think<|im_end|>"), std::string::npos);
}

TEST_F(ChatSessionScripted, StopStringsEndTheReplyAndAreNotShown) {
  script.replies = {"one two STOP three"};
  ChatOptions o;
  o.stop = {"STOP"};
  auto s = session(o);
  std::string shown;
  const TurnResult t = s->send("count", [&](const chat::ReasoningPiece& p) { shown += p.content; });
  EXPECT_EQ(t.content, "one two ");
  EXPECT_EQ(shown, "one two ");
  EXPECT_EQ(t.finish_reason, "stop");
}

TEST_F(ChatSessionScripted, CancelEndsTheReplyAndKeepsWhatWasSaid) {
  script.replies = {"a b c d e f g h i j k l m n o p"};
  auto s = session();
  std::atomic<bool> cancel{false};
  const TurnResult t = s->send("go", [&](const chat::ReasoningPiece&) { cancel = true; }, &cancel);
  EXPECT_EQ(t.finish_reason, "cancelled");
  EXPECT_LT(t.content.size(), std::string("a b c d e f g h i j k l m n o p").size());
  EXPECT_EQ(s->messages().back()["content"], t.content);
}

TEST_F(ChatSessionScripted, MaxTokensEndsWithLength) {
  script.replies = {"a long reply that goes on"};
  ChatOptions o;
  o.max_tokens = 3;
  auto s = session(o);
  const TurnResult t = s->send("go", nullptr);
  EXPECT_EQ(t.finish_reason, "length");
  EXPECT_EQ(t.generated_tokens, 3);
}

TEST_F(ChatSessionScripted, AConversationOutgrowingTheContextFailsClearlyOrDropsOldTurns) {
  const std::string long_reply(150, 'x');
  script.replies = {long_reply, long_reply, long_reply, long_reply};
  ChatOptions o;
  o.ctx_size = 100;
  o.system = "Be nice.";
  auto s = session(o);
  const TurnResult t1 = s->send("first", nullptr);
  EXPECT_EQ(t1.finish_reason, "length");  // the reply is cut at the context's end
  EXPECT_EQ(t1.prompt_tokens + t1.generated_tokens, 100);
  try {
    s->send("second", nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no longer fits the context of 100 tokens"), std::string::npos) << e.what();
  }
  ASSERT_EQ(s->messages().size(), 3u);  // the failed turn left the history as it was

  o.drop_oldest = true;
  auto d = session(o);
  d->send("first", nullptr);
  const TurnResult t2 = d->send("second", nullptr);
  EXPECT_EQ(t2.dropped_turns, 1);
  ASSERT_EQ(d->messages().size(), 3u);
  EXPECT_EQ(d->messages()[0]["content"], "Be nice.");  // the system message stays
  EXPECT_EQ(d->messages()[1]["content"], "second");
}

// Greedy replies from a session that reuses its cached prefix equal those of a session that
// runs every prompt from a fresh state.
void expect_cache_reuse_is_exact(const std::string& model_dir, bool expect_reuse) {
  auto rt = Runtime::load(model_dir, {1});
  const TextAssets assets = load_text_assets(model_dir, rt->model().info().n_vocab);
  ChatOptions o;
  o.max_tokens = 12;
  TokenSource fresh = [&](const std::vector<int32_t>& context, const SamplingParams& sampling, int max_tokens,
                          const std::function<bool(int32_t)>& on_token) {
    auto state = rt->model().new_state({});
    GenerateParams p;
    p.max_new_tokens = max_tokens;
    p.sampling = sampling;
    generate(rt->model(), *state, rt->context(), 0, context, p, [&](int32_t t, const float*, int64_t) { return on_token(t); });
  };
  ChatSession cached(*rt, assets, o), reference(*rt, assets, o, fresh);
  for (const char* turn : {"Hello there", "Tell me more", "And a third thing"}) {
    const TurnResult a = cached.send(turn, nullptr), b = reference.send(turn, nullptr);
    EXPECT_EQ(a.reasoning, b.reasoning) << turn;
    EXPECT_EQ(a.content, b.content) << turn;
    EXPECT_EQ(a.generated_tokens, b.generated_tokens) << turn;
    if (expect_reuse && std::string(turn) != "Hello there") {
      EXPECT_LT(a.prompt_tokens_run, a.prompt_tokens) << turn;
    }
  }
}

TEST(ChatSessionModel, CachedPrefixGivesTheSameRepliesAttention) { expect_cache_reuse_is_exact(kModel, true); }

TEST(ChatSessionModel, CachedPrefixGivesTheSameRepliesHybrid) {
  expect_cache_reuse_is_exact(data_path("models/qwen3-next"), false);
}

TEST(GenerationDefaults, FromGenerationConfigOrQwensRecommendedValues) {
  const GenerationDefaults hf = generation_defaults(kModel);  // do_sample, 0.6, 20, 0.95
  EXPECT_EQ(hf.source, "generation_config.json");
  EXPECT_FLOAT_EQ(hf.thinking.temperature, 0.6f);
  EXPECT_EQ(hf.thinking.top_k, 20);
  EXPECT_FLOAT_EQ(hf.thinking.top_p, 0.95f);
  EXPECT_FLOAT_EQ(hf.non_thinking.temperature, 0.6f);
  const GenerationDefaults gguf = generation_defaults(kModel + "/model.gguf");
  EXPECT_EQ(gguf.source, "Qwen's recommended values");
  EXPECT_FLOAT_EQ(gguf.thinking.temperature, 0.6f);
  EXPECT_FLOAT_EQ(gguf.thinking.top_p, 0.95f);
  EXPECT_FLOAT_EQ(gguf.non_thinking.temperature, 0.7f);
  EXPECT_FLOAT_EQ(gguf.non_thinking.top_p, 0.8f);
  EXPECT_EQ(gguf.non_thinking.top_k, 20);

  test::TempDir tmp;
  test::write_bytes(tmp.file("generation_config.json"), R"({"temperature": 0.3})");  // no do_sample: greedy, as in HF
  EXPECT_EQ(generation_defaults(tmp.path()).thinking.temperature, 0.0f);
  EXPECT_EQ(generation_defaults(tmp.path()).thinking.top_k, 50);
  test::write_bytes(tmp.file("generation_config.json"), R"({"do_sample": true, "top_p": 7})");
  EXPECT_THROW(generation_defaults(tmp.path()), Error);
  test::write_bytes(tmp.file("generation_config.json"), R"({"do_sample": true, "top_p": "high"})");
  EXPECT_THROW(generation_defaults(tmp.path()), Error);
  test::write_bytes(tmp.file("generation_config.json"), "{not json");
  EXPECT_THROW(generation_defaults(tmp.path()), Error);
}

}  // namespace
}  // namespace qwenrt
