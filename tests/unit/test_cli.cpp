// The qwenrt command line as a user runs it.
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <sstream>

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
  EXPECT_NE(bad.err.find("'Q3_K' is not a file type qwenrt writes"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("Q4_K_M"), std::string::npos) << bad.err;  // the list of what it writes
}

// The golden models are 64 wide: Q4_K_M would need llama-quantize's Q5_0 fallback, which qwenrt does
// not write (a clear refusal, nothing written), while Q6_K falls back to Q8_0 as llama-quantize does.
TEST(Cli, QuantizeRefusesAMixTheRowsCannotHold) {
  TempDir tmp;
  const CommandResult bad = run_qwenrt({"quantize", kModel, tmp.file("k.gguf"), "--type", "Q4_K_M"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("token_embd.weight: rows of 64 values"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("Q5_0"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.file("k.gguf")));
  const CommandResult q6 = run_qwenrt({"quantize", kModel, tmp.file("q6.gguf"), "--type", "Q6_K"});
  ASSERT_EQ(q6.exit_code, 0) << q6.err;
  EXPECT_NE(q6.out.find("23 Q8_0"), std::string::npos) << q6.out;
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
    // Every weight was read (mapped pages count once touched), and the probe's 1 GiB is not in it.
    EXPECT_GE(e["peak_rss_bytes"].get<uint64_t>(), e["model_size"].get<uint64_t>());
    EXPECT_LT(e["peak_rss_bytes"].get<uint64_t>(), uint64_t{1} << 30);
  }
  // With context already in the cache (llama-bench's -d): the tests say so, and a decode step's bytes
  // include the cache it reads.
  const CommandResult deep = run_qwenrt({"bench", "--model", kModel, "-p", "8", "-n", "4", "-d", "40", "-r", "1", "--json", "--no-roofline"});
  ASSERT_EQ(deep.exit_code, 0) << deep.err;
  const auto darr = nlohmann::json::parse(deep.out);
  ASSERT_EQ(darr.size(), 2u);
  EXPECT_EQ(darr[0]["test"], "pp8 @ d40");
  EXPECT_EQ(darr[1]["test"], "tg4 @ d40");
  EXPECT_EQ(darr[1]["n_depth"], 40);
  EXPECT_GT(darr[1]["bytes_per_token"].get<uint64_t>(), arr[1]["bytes_per_token"].get<uint64_t>());
  const CommandResult syn = run_qwenrt({"bench", "--synthetic", "qwen3-0.6b", "--layers", "1", "-p", "8", "-n", "2", "-r", "1"});
  ASSERT_EQ(syn.exit_code, 0) << syn.err;
  EXPECT_NE(syn.out.find("tg2"), std::string::npos) << syn.out;
  EXPECT_NE(syn.out.find("peak resident memory"), std::string::npos) << syn.out;
}

TEST(Cli, UsageErrorsExitNonZero) {
  EXPECT_NE(run_qwenrt({}).exit_code, 0);
  EXPECT_NE(run_qwenrt({"logits", "--model", kModel}).exit_code, 0);  // --tokens and --out missing
  EXPECT_NE(run_qwenrt({"nonsense"}).exit_code, 0);
  EXPECT_EQ(run_qwenrt({"bench", "-p", "1"}).exit_code, 1);  // neither --model nor --synthetic
  const CommandResult bad_mode = run_qwenrt({"info", "--model", kModel, "--load-mode", "mmap"});
  EXPECT_NE(bad_mode.exit_code, 0);
  EXPECT_NE(bad_mode.err.find("--load-mode"), std::string::npos) << bad_mode.err;
  const CommandResult bad_kv = run_qwenrt({"info", "--model", kModel, "--kv-type", "q8_0"});
  EXPECT_NE(bad_kv.exit_code, 0);
  EXPECT_NE(bad_kv.err.find("--kv-type"), std::string::npos) << bad_kv.err;
  EXPECT_NE(run_qwenrt({"bench", "--model", kModel, "-d", "-1"}).exit_code, 0);  // a negative depth
  for (const char* mode : {"map", "copy", "auto"}) {
    const CommandResult ok = run_qwenrt({"info", "--model", kModel, "--load-mode", mode});
    EXPECT_EQ(ok.exit_code, 0) << mode << ": " << ok.err;
  }
}


// ---- text in, text out ----

nlohmann::ordered_json golden_chat_case(const std::string& id) {
  std::istringstream in(read_text(data_path("chat/cases.jsonl")));
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::ordered_json::parse(line);
    if (j["id"] == id) return j;
  }
  ADD_FAILURE() << "no golden chat case " << id;
  return {};
}

TEST(Cli, RenderPrintsTheExactPromptOfTheModelsTemplate) {
  // The golden models ship the real Qwen3 chat template, so their renderings are the Qwen3 goldens.
  TempDir tmp;
  for (const char* id : {"qwen3/tools-call-flow/gen-yes_think-absent", "qwen3/multi-turn-think/gen-no_think-false",
                         "qwen3/continue-final/assistant-prefix"}) {
    const auto c = golden_chat_case(id);
    if (c.is_null()) continue;
    SCOPED_TRACE(id);
    write_bytes(tmp.file("req.json"), c["input"].dump());
    for (const std::string& model : {kModel, kModel + "/model.gguf"}) {
      const CommandResult r = run_qwenrt({"render", "--model", model, "--request", tmp.file("req.json")});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, c["rendered"].get<std::string>());
    }
  }
  // chat_template_kwargs (the OpenAI servers' name) works like template_kwargs; stdin works.
  const CommandResult off = run_qwenrt({"render", "--template", data_path("chat/templates/Qwen3.jinja"), "--request", "-"},
                                       R"({"messages":[{"role":"user","content":"Hi"}],"add_generation_prompt":true,)"
                                       R"("chat_template_kwargs":{"enable_thinking":false}})");
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(Cli, RenderErrorsExitOneWithTheMessage) {
  TempDir tmp;
  write_bytes(tmp.file("empty.json"), R"({"messages": []})");
  const CommandResult raised = run_qwenrt({"render", "--template", data_path("chat/templates/Qwen3.5-4B.jinja"), "--request", tmp.file("empty.json")});
  EXPECT_EQ(raised.exit_code, 1);
  EXPECT_TRUE(raised.out.empty());
  EXPECT_NE(raised.err.find("No messages provided."), std::string::npos) << raised.err;
  EXPECT_NE(raised.err.find("chat template, line "), std::string::npos) << raised.err;

  write_bytes(tmp.file("bad.jinja"), "ok\n{% for x in %}{% endfor %}");
  const CommandResult syntax = run_qwenrt({"render", "--template", tmp.file("bad.jinja"), "--request", tmp.file("empty.json")});
  EXPECT_EQ(syntax.exit_code, 1);
  EXPECT_NE(syntax.err.find("line 2"), std::string::npos) << syntax.err;

  write_bytes(tmp.file("notjson.json"), "{\"messages\": [");
  const CommandResult bad_json = run_qwenrt({"render", "--model", kModel, "--request", tmp.file("notjson.json")});
  EXPECT_EQ(bad_json.exit_code, 1);
  EXPECT_NE(bad_json.err.find("not valid JSON"), std::string::npos) << bad_json.err;

  write_bytes(tmp.file("nomsg.json"), R"({"messages": "hi"})");
  const CommandResult bad_field = run_qwenrt({"render", "--model", kModel, "--request", tmp.file("nomsg.json")});
  EXPECT_EQ(bad_field.exit_code, 1);
  EXPECT_NE(bad_field.err.find("'messages' must be a list"), std::string::npos) << bad_field.err;
}

TEST(Cli, GeneratePromptPrintsTheGoldenContinuationText) {
  // The golden greedy continuations, decoded by Hugging Face: the text path must encode the prompt
  // to the same ids and stream the same text, U+FFFD for bytes that never form a character included.
  const auto cases = nlohmann::json::parse(read_text(kModel + "/cases.json"))["cases"];
  int checked = 0;
  for (const auto& c : cases) {
    if (c["name"] != "len1" && c["name"] != "len7") continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    for (const std::string& model : {kModel, kModel + "/model.gguf"}) {
      const CommandResult r = run_qwenrt({"generate", "--model", model, "--prompt", c["decoded_text"].get<std::string>(), "-n",
                                          std::to_string(c["greedy"]["n_new"].get<int>()), "--ignore-eos"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, c["greedy"]["decoded_text"].get<std::string>());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
}

TEST(Cli, GenerateChatSendsOneUserTurnThroughTheTemplate) {
  TempDir tmp;
  write_bytes(tmp.file("req.json"), R"({"messages":[{"role":"user","content":"Hello there"}],"add_generation_prompt":true})");
  const CommandResult rendered = run_qwenrt({"render", "--model", kModel, "--request", tmp.file("req.json")});
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  const CommandResult chat = run_qwenrt({"generate", "--model", kModel, "--chat", "Hello there", "-n", "6", "--ignore-eos"});
  const CommandResult prompt = run_qwenrt({"generate", "--model", kModel, "--prompt", rendered.out, "-n", "6", "--ignore-eos"});
  ASSERT_EQ(chat.exit_code, 0) << chat.err;
  ASSERT_EQ(prompt.exit_code, 0) << prompt.err;
  EXPECT_EQ(chat.out, prompt.out);
  EXPECT_FALSE(chat.out.empty());
  // The same continuation as ids, decoded, is the same text.
  const CommandResult ids = run_qwenrt({"tokenize", "--model", kModel, "--text", rendered.out});
  auto join_ids = [](const std::string& json_array) {
    std::string csv;
    for (const auto& id : nlohmann::json::parse(json_array)) {
      if (!csv.empty()) csv += ',';
      csv += std::to_string(id.get<int>());
    }
    return csv;
  };
  const std::string csv = join_ids(ids.out);
  const CommandResult gen_ids = run_qwenrt({"generate", "--model", kModel, "--tokens", csv, "-n", "6", "--ignore-eos"});
  const std::string new_ids = join_ids(gen_ids.out);
  const CommandResult text = run_qwenrt({"detokenize", "--model", kModel, "--ids", new_ids});
  EXPECT_EQ(text.out, chat.out);
  // Template variables reach the template.
  const CommandResult no_think =
      run_qwenrt({"generate", "--model", kModel, "--chat", "Hello there", "-n", "2", "--chat-template-kwargs", R"({"enable_thinking": false})"});
  EXPECT_EQ(no_think.exit_code, 0) << no_think.err;
  const CommandResult bad_kwargs = run_qwenrt({"generate", "--model", kModel, "--chat", "x", "--chat-template-kwargs", "[1]"});
  EXPECT_EQ(bad_kwargs.exit_code, 1);
  // A model without a tokenizer cannot take text.
  const CommandResult synthetic = run_qwenrt({"generate", "--model", "synthetic:qwen3-0.6b:1", "--prompt", "hi", "-n", "1"});
  EXPECT_EQ(synthetic.exit_code, 1);
}

}  // namespace
// `serve` refuses bad settings with a message naming the flag, before it listens.
TEST(Cli, ServeRejectsBadSettings) {
  auto expect = [](const std::vector<std::string>& args, const std::string& needle) {
    const CommandResult r = run_qwenrt(args);
    EXPECT_NE(r.exit_code, 0) << needle;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  expect({"serve", kModel, "--kv-cache-memory", "lots"}, "--kv-cache-memory");
  expect({"serve", kModel, "--kv-cache-memory", "0"}, "--kv-cache-memory must be more than 0");
  expect({"serve", kModel, "--max-body-size", "12 parsecs"}, "--max-body-size");
  expect({"serve", kModel, "--max-model-len", "99999999"}, "--max-model-len 99999999 is longer than");
  expect({"serve", kModel, "--port", "70000"}, "--port");
  expect({"serve", kModel, "--host", "256.1.1.1", "--port", "1"}, "cannot listen on 256.1.1.1:1");
  expect({"serve", "/no/such/model"}, "/no/such/model");
}

}  // namespace qwenrt::test
