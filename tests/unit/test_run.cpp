// `qwenrt run`: one-shot, piped and interactive use, the interactive chat driven through a
// pseudo-terminal. Thinking and history are checked with the scripted binary (scripted replies,
// the real command line); the rest with a real tiny model.
#include "support/pty_session.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace qwenrt {
namespace {

using namespace test;

const std::string kModel = data_path("models/qwen3-untied");

struct Scripted {
  TempDir dir;
  std::vector<std::string> env;
  explicit Scripted(const std::vector<std::string>& replies, int delay_ms = 0) {
    write_bytes(dir.file("script.json"), nlohmann::json(replies).dump());
    env = {"QWENRT_SCRIPT=" + dir.file("script.json"), "QWENRT_SCRIPT_LOG=" + dir.file("log.jsonl"),
           "QWENRT_SCRIPT_DELAY_MS=" + std::to_string(delay_ms)};
  }
  std::vector<std::string> prompts() const {
    std::vector<std::string> out;
    std::ifstream in(dir.file("log.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line).get<std::string>());
    return out;
  }
};

const std::string kThinkingReply = "<think>\nDeep thought.\n</think>\n\nThe answer.";

TEST(RunOneShot, AnswersAPromptOrPipedTextAndExits) {
  const CommandResult arg = run_qwenrt({"run", kModel, "Hello", "--seed", "5", "-n", "8"});
  ASSERT_EQ(arg.exit_code, 0) << arg.err;
  EXPECT_FALSE(arg.out.empty());
  EXPECT_EQ(arg.err, "") << "no progress display or chatter on a pipe";
  const CommandResult piped = run_qwenrt({"run", kModel, "--seed", "5", "-n", "8"}, "Hello\n");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, arg.out);  // same prompt, same seed, same answer
  const CommandResult other = run_qwenrt({"run", kModel, "Hello", "--seed", "6", "-n", "8", "--temperature", "1.5"});
  const CommandResult same = run_qwenrt({"run", kModel, "Hello", "--seed", "6", "-n", "8", "--temperature", "1.5"});
  EXPECT_EQ(other.out, same.out);
  const CommandResult verbose = run_qwenrt({"run", kModel, "Hello", "-n", "4", "--verbose"});
  EXPECT_NE(verbose.err.find("generation: "), std::string::npos) << verbose.err;
  EXPECT_NE(verbose.err.find("tokens/s"), std::string::npos);
}

TEST(RunOneShot, ThinkingIsMarkedOnAPipeOrHidden) {
  Scripted s({kThinkingReply, kThinkingReply});
  const CommandResult shown = run_binary(QWENRT_SCRIPTED_BINARY, {"run", kModel, "Why?"}, "", s.env);
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, "Thinking...\nDeep thought.\n...done thinking.\n\nThe answer.\n");
  const CommandResult hidden = run_binary(QWENRT_SCRIPTED_BINARY, {"run", kModel, "Why?", "--hide-thinking"}, "", s.env);
  EXPECT_EQ(hidden.out, "The answer.\n");
}

TEST(RunOneShot, StopStringsAreNeverPrinted) {
  Scripted s({"alpha be|ta gamma"});
  const CommandResult r = run_binary(QWENRT_SCRIPTED_BINARY, {"run", kModel, "go", "--stop", "ta g"}, "", s.env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "alpha be|\n");
}

TEST(RunOneShot, BadInputGetsAClearError) {
  const CommandResult missing = run_qwenrt({"run", "/no/such/model", "hi"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/no/such/model"), std::string::npos) << missing.err;
  const CommandResult bad_p = run_qwenrt({"run", kModel, "hi", "--top-p", "2"});
  EXPECT_EQ(bad_p.exit_code, 1);
  EXPECT_NE(bad_p.err.find("top_p"), std::string::npos) << bad_p.err;
  const CommandResult empty = run_qwenrt({"run", kModel}, "  \n");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("empty"), std::string::npos) << empty.err;
  const CommandResult small = run_qwenrt({"run", kModel, "a prompt longer than the context", "--ctx-size", "8"});
  EXPECT_EQ(small.exit_code, 1);
  EXPECT_NE(small.err.find("no longer fits the context of 8 tokens"), std::string::npos) << small.err;
}

TEST(RunInteractive, ChatsCommandsAndExitsOnATerminal) {
  PtySession t(QWENRT_BINARY, {"run", kModel, "-n", "6", "--seed", "1"});
  ASSERT_TRUE(t.wait_for(">>> ")) << t.output();
  t.type("Hello\n");
  ASSERT_TRUE(t.wait_for(">>> ")) << t.output();
  EXPECT_GT(t.since_last_wait().size(), std::string("Hello\r\n>>> ").size());  // an answer came
  t.type("/no_think\n");
  ASSERT_TRUE(t.wait_for("Thinking mode: off")) << t.output();
  t.type("/set temperature 0.3\n");
  ASSERT_TRUE(t.wait_for("Set temperature to 0.3.")) << t.output();
  t.type("/set temperature hot\n");
  ASSERT_TRUE(t.wait_for("is not a number")) << t.output();
  t.type("/show\n");
  ASSERT_TRUE(t.wait_for("temperature 0.3, top_k 20")) << t.output();
  t.type("/help\n");
  ASSERT_TRUE(t.wait_for("/clear")) << t.output();
  t.type("/exit\n");
  EXPECT_EQ(t.wait_exit(), 0) << t.output();
}

TEST(RunInteractive, ThinkingIsDimmedAndDroppedFromTheHistory) {
  Scripted s({kThinkingReply, "Second."});
  PtySession t(QWENRT_SCRIPTED_BINARY, {"run", kModel}, s.env);
  ASSERT_TRUE(t.wait_for(">>> "));
  t.type("First?\n");
  ASSERT_TRUE(t.wait_for(">>> ")) << t.output();
  // Dim on, the thinking, then reset before the answer.
  EXPECT_NE(t.since_last_wait().find("\x1b[2mDeep thought.\r\n\x1b[0m\r\nThe answer."), std::string::npos) << t.since_last_wait();
  t.type("/no_think\n");
  ASSERT_TRUE(t.wait_for(">>> "));
  t.type("\"\"\"line one\n");
  ASSERT_TRUE(t.wait_for("... "));
  t.type("line two\"\"\"\n");
  ASSERT_TRUE(t.wait_for("Second.")) << t.output();
  ASSERT_TRUE(t.wait_for(">>> "));
  t.ctrl_d();
  EXPECT_EQ(t.wait_exit(), 0);
  const std::vector<std::string> prompts = s.prompts();
  ASSERT_EQ(prompts.size(), 2u);
  EXPECT_EQ(prompts[1],
            "<|im_start|>user\nFirst?<|im_end|>\n<|im_start|>assistant\nThe answer.<|im_end|>\n"
            "<|im_start|>user\nline one\nline two /no_think<|im_end|>\n<|im_start|>assistant\n");
}

TEST(RunInteractive, CtrlCStopsTheAnswerNotTheChat) {
  Scripted s({"one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen", "Next."}, 100);
  PtySession t(QWENRT_SCRIPTED_BINARY, {"run", kModel}, s.env);
  ASSERT_TRUE(t.wait_for(">>> "));
  t.type("count\n");
  ASSERT_TRUE(t.wait_for("two")) << t.output();
  t.ctrl_c();
  ASSERT_TRUE(t.wait_for(">>> ", 10)) << t.output();
  EXPECT_EQ(t.since_last_wait().find("sixteen"), std::string::npos) << "the answer went on after Ctrl-C";
  t.ctrl_c();  // at the prompt: a hint, not an exit
  ASSERT_TRUE(t.wait_for("Ctrl-D or /exit to quit")) << t.output();
  t.type("again\n");
  ASSERT_TRUE(t.wait_for("Next.")) << t.output();
  t.type("/bye\n");
  EXPECT_EQ(t.wait_exit(), 0);
  // The interrupted answer stays in the history, cut where it stopped.
  const std::vector<std::string> prompts = s.prompts();
  ASSERT_EQ(prompts.size(), 2u);
  EXPECT_NE(prompts[1].find("<|im_start|>assistant\none two"), std::string::npos) << prompts[1];
  EXPECT_EQ(prompts[1].find("sixteen"), std::string::npos);
}

// With no model, `run` uses the demo model built into the binary: a fresh machine gets an answer.
TEST(RunDemo, NoModelMeansTheBuiltInDemoModel) {
  TempDir cache;
  const std::vector<std::string> env = {"QWENRT_CACHE=" + cache.path()};
  const CommandResult r = run_binary(QWENRT_BINARY, {"run", "--hide-thinking", "What is 1234 + 4321?"}, "", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Issue 6's example: the demo model's answer restates the question (in thinking mode it misquotes
  // the first operand, models/qwen3-demo/README.md) and gives the right sum.
  ASSERT_GE(r.out.size(), 8u) << r.out;
  EXPECT_EQ(r.out.substr(r.out.size() - 8), "= 5555.\n") << r.out;
  EXPECT_NE(r.out.find(" + 4321 = "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Thinking"), std::string::npos) << r.out;
  // The notice says what this is and how to run a real model, once.
  const size_t notice = r.err.find("built-in demo");
  ASSERT_NE(notice, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("built-in demo", notice + 1), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("qwenrt run Qwen/"), std::string::npos) << r.err;

  // The model went into the cache once, as the committed file; a second run reuses it.
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(cache.path())) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(read_text(files[0].string()), read_text(std::string(QWENRT_MODELS_DIR) + "/qwen3-demo-q8_0.gguf"));
  const auto written = std::filesystem::last_write_time(files[0]);
  const CommandResult thinking = run_binary(QWENRT_BINARY, {"run", "What is 1234 + 4321?"}, "", env);
  ASSERT_EQ(thinking.exit_code, 0) << thinking.err;
  EXPECT_EQ(std::filesystem::last_write_time(files[0]), written);
  // Shown with its thinking on a pipe, the same answer after it.
  EXPECT_EQ(thinking.out.rfind("Thinking...\n", 0), 0u) << thinking.out;
  const size_t done = thinking.out.find("...done thinking.\n\n");
  ASSERT_NE(done, std::string::npos) << thinking.out;
  EXPECT_EQ(thinking.out.substr(done + 19), r.out);

  // A damaged copy is written again.
  write_bytes(files[0].string(), "GGUF");
  const CommandResult again = run_binary(QWENRT_BINARY, {"run", "--hide-thinking", "What is 1234 + 4321?"}, "", env);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, r.out);
  EXPECT_EQ(read_text(files[0].string()), read_text(std::string(QWENRT_MODELS_DIR) + "/qwen3-demo-q8_0.gguf"));
}

TEST(RunDemo, AnUnwritableCacheGetsAClearError) {
  TempDir dir;
  write_bytes(dir.file("not-a-folder"), "x");
  const CommandResult r = run_binary(QWENRT_BINARY, {"run", "What is 2 + 2?"}, "", {"QWENRT_CACHE=" + dir.file("not-a-folder/cache")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("demo model"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("QWENRT_CACHE"), std::string::npos) << r.err;
}

TEST(RunDemo, AOneWordArgumentIsStillAModel) {
  // Only an argument with spaces that names no file is taken for a prompt.
  const CommandResult r = run_qwenrt({"run", "no-such-model"}, "hi\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no-such-model"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qwenrt
