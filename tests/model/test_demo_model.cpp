// The demo model (models/, trained by tools/demo_model): its BF16 export computes what PyTorch
// computes, it answers held-out prompts (operands the training never saw) as the model card says,
// the Q8_0 file gives the same greedy answers, and that file is the one built into the binary.
#include "api/runtime.h"
#include "api/text_assets.h"
#include "cli/demo_model.h"
#include "engine/generate.h"
#include "model/golden.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>

namespace qwenrt {
namespace {

using namespace test;

const std::string kBf16 = std::string(QWENRT_MODELS_DIR) + "/qwen3-demo";
const std::string kQ8 = std::string(QWENRT_MODELS_DIR) + "/qwen3-demo-q8_0.gguf";

struct Loaded {
  std::unique_ptr<Runtime> rt;
  TextAssets assets;
  explicit Loaded(const std::string& path) : rt(Runtime::load(path, {1})), assets(load_text_assets(path, rt->model().info().n_vocab)) {}

  // The greedy reply to a rendered prompt, without the end-of-turn token.
  std::string greedy(const std::string& prompt) const {
    const Model& m = rt->model();
    auto state = m.new_state({});
    GenerateParams p;
    p.max_new_tokens = 300;
    p.stop_ids = assets.eos_ids;
    std::vector<int32_t> out = generate(m, *state, rt->context(), 0, assets.tokenizer->encode(prompt), p);
    if (!out.empty() && std::count(p.stop_ids.begin(), p.stop_ids.end(), out.back())) out.pop_back();
    return assets.tokenizer->decode(out);
  }
};

struct HeldOut {
  std::string kind, prompt, target;
};

std::vector<HeldOut> held_out() {
  std::vector<HeldOut> out;
  std::ifstream in(data_path("demo/heldout.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    out.push_back({j["kind"], j["prompt"], j["target"]});
  }
  return out;
}

// The answer after the thinking.
std::string final_answer(std::string text) {
  if (const size_t end = text.find("<|im_end|>"); end != std::string::npos) text.resize(end);
  if (const size_t think = text.rfind("</think>"); think != std::string::npos) text = text.substr(think + 8);
  const size_t a = text.find_first_not_of(" \n"), b = text.find_last_not_of(" \n");
  return a == std::string::npos ? "" : text.substr(a, b - a + 1);
}

// The JSON of the first <tool_call>, or null when there is none or it does not parse.
nlohmann::json tool_call(const std::string& text) {
  static const std::regex re(R"(<tool_call>\s*(\{[\s\S]*?\})\s*</tool_call>)");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return nullptr;
  return nlohmann::json::parse(m[1].str(), nullptr, /*allow_exceptions=*/false);
}

bool correct(const HeldOut& h, const std::string& reply) {
  if (h.kind == "tool-call") {
    const auto got = tool_call(reply);
    return !got.is_null() && !got.is_discarded() && got == tool_call(h.target);
  }
  return final_answer(reply) == final_answer(h.target);
}

TEST(DemoModel, Bf16ExportComputesWhatPyTorchComputes) {
  Loaded m(kBf16);
  const auto cases = nlohmann::json::parse(read_text(data_path("demo/cases.json")));
  ASSERT_GE(cases["cases"].size(), 2u);
  for (const auto& c : cases["cases"]) {
    const std::vector<int32_t> ids = c["tokens"];
    const std::vector<float> want = read_f32(data_path("demo/" + c["logits"].get<std::string>()));
    auto state = m.rt->model().new_state({});
    Batch b;
    for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, true);
    ForwardOutput out;
    m.rt->model().forward(b, *state, out, m.rt->context());
    ASSERT_EQ(out.logits.size(), want.size());
    EXPECT_LE(max_abs_diff(out.logits, want), 1e-3f) << ids.size() << " tokens";
  }
}

// Held-out accuracy per kind, greedy, measured here on the committed sample (tools/demo_model/
// evaluate.py measures the full held-out set; the model card has both).
std::map<std::string, std::pair<int, int>> accuracy(const Loaded& m, const std::vector<HeldOut>& set, std::vector<std::string>* replies) {
  std::map<std::string, std::pair<int, int>> out;
  for (const HeldOut& h : set) {
    const std::string reply = m.greedy(h.prompt);
    out[h.kind].first += correct(h, reply);
    out[h.kind].second += 1;
    if (replies) replies->push_back(reply);
  }
  return out;
}

// Tool use meets issue 6's bar (95 %). Arithmetic does not yet (measured on 400 held-out prompts of
// each kind: 84 % with thinking, 20-24 % without; issue 6's bar is 95 % and 80 %): these are floors
// under what the committed model does on this 20-prompt sample, so that a regression in the engine
// shows, until it is retrained.
const std::map<std::string, double> kRequired = {
    {"arith-think", 0.65}, {"arith-nothink", 0.05}, {"arith-softswitch", 0.05}, {"tool-call", 0.95}, {"tool-answer", 0.95}};

void expect_accurate(const std::map<std::string, std::pair<int, int>>& got) {
  ASSERT_EQ(got.size(), kRequired.size());
  for (const auto& [kind, need] : kRequired) {
    const auto [right, n] = got.at(kind);
    ASSERT_GT(n, 0) << kind;
    EXPECT_GE(static_cast<double>(right) / n, need) << kind << ": " << right << " / " << n << " right";
  }
}

TEST(DemoModel, AnswersHeldOutPromptsAndQ8AgreesWithBf16) {
  const auto set = held_out();
  ASSERT_GE(set.size(), 100u);
  std::vector<std::string> bf16_replies, q8_replies;
  const auto bf16 = accuracy(Loaded(kBf16), set, &bf16_replies);
  expect_accurate(bf16);
  const auto q8 = accuracy(Loaded(kQ8), set, &q8_replies);
  expect_accurate(q8);
  size_t same = 0;
  for (size_t i = 0; i < set.size(); ++i) same += final_answer(bf16_replies[i]) == final_answer(q8_replies[i]) &&
                                                 tool_call(bf16_replies[i]) == tool_call(q8_replies[i]);
  // 96.1 % on the 1668 held-out prompts (issue 6 asks for 99 %); they differ where the answer is a
  // guess (arithmetic without thinking).
  EXPECT_GE(static_cast<double>(same) / set.size(), 0.90) << same << " / " << set.size() << " the same";
}

TEST(DemoModel, TheBinaryCarriesTheCommittedQ8File) {
  EXPECT_EQ(cli::demo_model_bytes(), read_text(kQ8));
}

}  // namespace
}  // namespace qwenrt
