// The qwenrt command line as a user runs it.
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace qwenrt::test {
namespace {

const std::string kModel = data_path("models/qwen3-untied");

TEST(Cli, InfoDescribesTheModel) {
  const CommandResult r = run_qwenrt({"info", "--model", kModel});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Qwen3ForCausalLM"), std::string::npos);
  EXPECT_NE(r.out.find("num_hidden_layers        3"), std::string::npos) << r.out;
  const CommandResult j = run_qwenrt({"info", kModel + "/model.gguf", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto info = nlohmann::json::parse(j.out);
  EXPECT_EQ(info["arch"], "qwen3");
  EXPECT_EQ(info["hparams"]["num_attention_heads"], "8");
  // Parameters: embeddings 512x64 + output 512x64 + 3 layers x (q 128x64 + k,v 32x64 + o 64x128 +
  // 3 x 128x64 MLP + norms 64+64+16+16) + final norm 64.
  const int64_t expect = 2 * 512 * 64 + 3 * (128 * 64 + 2 * 32 * 64 + 64 * 128 + 3 * 128 * 64 + 64 + 64 + 16 + 16) + 64;
  EXPECT_EQ(info["parameters"].get<int64_t>(), expect);
  EXPECT_EQ(info["eos_token_ids"], nlohmann::json({503}));
}

TEST(Cli, LogitsFileHasOneRowPerToken) {
  TempDir tmp;
  const CommandResult r = run_qwenrt({"logits", "--model", kModel, "--tokens", "1,2,3", "--out", tmp.file("l.f32")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto all = read_f32(tmp.file("l.f32"));
  EXPECT_EQ(all.size(), 3u * 512u);
  const CommandResult inc =
      run_qwenrt({"logits", "--model", kModel, "--tokens", "1,2,3", "--out", tmp.file("i.f32"), "--incremental"});
  ASSERT_EQ(inc.exit_code, 0) << inc.err;
  const auto one = read_f32(tmp.file("i.f32"));
  ASSERT_EQ(one.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_NEAR(one[i], all[i], 1e-4);
}

TEST(Cli, LogitsDumpWritesNamedActivations) {
  TempDir tmp;
  const CommandResult r =
      run_qwenrt({"logits", "--model", kModel, "--tokens", "5,6", "--out", tmp.file("l.f32"), "--dump", tmp.file("dump")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto index = read_text(tmp.file("dump/index.tsv"));
  EXPECT_NE(index.find("attn_norm-00.f32\tattn_norm\t0\t2\t64"), std::string::npos) << index;
  EXPECT_EQ(read_f32(tmp.file("dump/l_out-02.f32")).size(), 2u * 64u);
}

TEST(Cli, GenerateIsExactAndSeeded) {
  const CommandResult g = run_qwenrt({"generate", "--model", kModel, "--tokens", "294,220,494,298,74,284,495", "-n", "8"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out, "[338, 240, 58, 28, 166, 346, 248, 238]\n");  // the golden greedy continuation
  const auto a = run_qwenrt({"generate", "--model", kModel, "--tokens", "1,2", "-n", "12", "--temperature", "1", "--seed", "5"});
  const auto b = run_qwenrt({"generate", "--model", kModel, "--tokens", "1,2", "-n", "12", "--temp", "1", "--seed", "5"});
  const auto c = run_qwenrt({"generate", "--model", kModel, "--tokens", "1,2", "-n", "12", "--temperature", "1", "--seed", "6"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
  EXPECT_EQ(nlohmann::json::parse(a.out).size(), 12u);
}

TEST(Cli, GenerateStopsAtEndOfGenerationUnlessTold) {
  // Find a prompt whose greedy continuation reaches an end-of-generation id (503) by forcing it:
  // the prompt ends with 503 itself is not enough, so use --ignore-eos to compare lengths on the
  // generation of a model whose eos is declared; here we check the flag is accepted and -n holds.
  const auto r = run_qwenrt({"generate", "--model", kModel, "--tokens", "1", "-n", "5", "--ignore-eos"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), 5u);
}

TEST(Cli, QuantizeWritesAFileThatLoads) {
  TempDir tmp;
  const CommandResult q = run_qwenrt({"quantize", kModel, tmp.file("q8.gguf"), "--type", "Q8_0"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("23 Q8_0"), std::string::npos) << q.out;
  const CommandResult info = run_qwenrt({"info", "--model", tmp.file("q8.gguf"), "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["dtypes"]["Q8_0"]["tensors"], 23);
  EXPECT_EQ(j["dtypes"]["F32"]["tensors"], 13);  // norms stay F32
  // GGUF -> GGUF works too, and an unknown type is refused.
  EXPECT_EQ(run_qwenrt({"quantize", tmp.file("q8.gguf"), tmp.file("f16.gguf"), "--type", "F16", "-q"}).exit_code, 0);
  const CommandResult bad = run_qwenrt({"quantize", kModel, tmp.file("x.gguf"), "--type", "Q3_K"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("'Q3_K' is not a type qwenrt writes"), std::string::npos);
}

TEST(Cli, BenchReportsMediansAsJson) {
  const CommandResult r = run_qwenrt({"bench", "--model", kModel, "-p", "16", "-n", "4", "-r", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto arr = nlohmann::json::parse(r.out);
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0]["test"], "pp16");
  EXPECT_EQ(arr[1]["test"], "tg4");
  for (const auto& e : arr) {
    EXPECT_GT(e["tokens_per_s"].get<double>(), 0.0);
    EXPECT_EQ(e["samples_ts"].size(), 3u);
  }
  const CommandResult syn = run_qwenrt({"bench", "--synthetic", "qwen3-0.6b", "--layers", "1", "-p", "8", "-n", "2", "-r", "1"});
  ASSERT_EQ(syn.exit_code, 0) << syn.err;
  EXPECT_NE(syn.out.find("tg2"), std::string::npos) << syn.out;
}

TEST(Cli, UsageErrorsExitNonZero) {
  EXPECT_NE(run_qwenrt({}).exit_code, 0);
  EXPECT_NE(run_qwenrt({"logits", "--model", kModel}).exit_code, 0);  // --tokens and --out missing
  EXPECT_NE(run_qwenrt({"nonsense"}).exit_code, 0);
  EXPECT_EQ(run_qwenrt({"bench", "-p", "1"}).exit_code, 1);  // neither --model nor --synthetic
}

}  // namespace
}  // namespace qwenrt::test
