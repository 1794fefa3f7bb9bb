#include "chat/reasoning.h"

#include <gtest/gtest.h>

namespace qwenrt::chat {
namespace {

ReasoningPiece split(bool opened, const std::vector<std::string>& pieces) {
  ReasoningSplitter s(opened);
  ReasoningPiece all;
  auto add = [&](const ReasoningPiece& p) {
    all.reasoning += p.reasoning;
    all.content += p.content;
  };
  for (const std::string& p : pieces) add(s.push(p));
  add(s.finish());
  return all;
}

struct Case {
  bool opened;
  std::string output, reasoning, content;
};

const Case kCases[] = {
    {false, "<think>\nI think.\n</think>\n\nHello!", "I think.", "Hello!"},
    {false, "<think>\na\n\nb\n</think>c", "a\n\nb", "c"},
    {false, "<think>\n\n</think>\n\nHi", "", "Hi"},
    {false, "Hello <think> not a block", "", "Hello <think> not a block"},
    {false, "<thinking>", "", "<thinking>"},
    {false, "<think>\nunfinished, out of tokens", "unfinished, out of tokens", ""},
    {false, "\n<think>x</think>y", "x", "y"},
    {false, "<", "", "<"},
    {true, "Let me see\n</think>\n\nAnswer", "Let me see", "Answer"},
    {true, "\nstill thinking\n", "still thinking\n", ""},
    {true, "</think>\n\nStraight away", "", "Straight away"},
    {false, "", "", ""},
};

TEST(ReasoningSplitter, SplitsQwenOutputAtEveryStreamingBoundary) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.output);
    const ReasoningPiece whole = split(c.opened, {c.output});
    EXPECT_EQ(whole.reasoning, c.reasoning);
    EXPECT_EQ(whole.content, c.content);
    // The same result however the text arrives: one byte at a time, or cut anywhere in two.
    std::vector<std::string> bytes;
    for (char ch : c.output) bytes.emplace_back(1, ch);
    const ReasoningPiece streamed = split(c.opened, bytes);
    EXPECT_EQ(streamed.reasoning, c.reasoning);
    EXPECT_EQ(streamed.content, c.content);
    for (size_t cut = 0; cut <= c.output.size(); ++cut) {
      const ReasoningPiece two = split(c.opened, {c.output.substr(0, cut), c.output.substr(cut)});
      ASSERT_EQ(two.reasoning, c.reasoning) << cut;
      ASSERT_EQ(two.content, c.content) << cut;
    }
  }
}

TEST(ReasoningSplitter, ReleasesTextAsSoonAsItCannotBeATag) {
  ReasoningSplitter s(false);
  EXPECT_TRUE(s.push("<thi").empty());  // could still be <think>
  EXPECT_TRUE(s.push("nk>\n").empty());
  EXPECT_TRUE(s.in_reasoning());
  EXPECT_EQ(s.push("step one").reasoning, "step one");
  EXPECT_EQ(s.push("\n</th").reasoning, "");  // newline and partial tag held back
  const ReasoningPiece p = s.push("ink>\n\nDone");
  EXPECT_EQ(p.reasoning, "");
  EXPECT_EQ(p.content, "Done");
  EXPECT_FALSE(s.in_reasoning());
}

TEST(ReasoningSplitter, DetectsAPromptThatOpensTheBlock) {
  EXPECT_TRUE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<|im_start|>assistant\n"));
  EXPECT_FALSE(prompt_opens_reasoning("<think>\nold</think> then <|im_start|>assistant\n"));
}

}  // namespace
}  // namespace qwenrt::chat
