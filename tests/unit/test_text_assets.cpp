// A model's tokenizer, chat template and special tokens, from tokenizer.json or from GGUF
// metadata: both must give the same tokenizer (checked on every golden model's samples, which were
// verified against Hugging Face), and the command line must print exactly what the API returns.
#include "api/text_assets.h"
#include "base/error.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace qwenrt {
namespace {

using test::data_path;

class TextAssetsOfModel : public testing::TestWithParam<std::string> {};

TEST_P(TextAssetsOfModel, GgufAndTokenizerJsonAgree) {
  const std::string dir = data_path("models/" + GetParam());
  const auto cases = nlohmann::json::parse(test::read_text(dir + "/cases.json"));
  const TextAssets hf = load_text_assets(dir);
  EXPECT_EQ(hf.tokenizer->vocab_size(), 512);
  EXPECT_TRUE(hf.chat_template.has_value());
  for (const auto& s : cases["tokenizer_samples"]) {
    EXPECT_EQ(hf.tokenizer->encode(s["text"].get<std::string>()), s["ids"].get<std::vector<int32_t>>()) << s["text"];
  }
  if (!std::filesystem::exists(dir + "/model.gguf")) return;
  const TextAssets gg = load_text_assets(dir + "/model.gguf");
  EXPECT_EQ(gg.tokenizer->vocab_size(), 512);
  EXPECT_EQ(gg.tokenizer->token_count(), hf.tokenizer->token_count());
  EXPECT_EQ(gg.tokenizer->pre_tokenizer_kind(), hf.tokenizer->pre_tokenizer_kind());
  EXPECT_EQ(gg.chat_template, hf.chat_template);
  EXPECT_EQ(gg.eos_token, "<|im_end|>");
  for (const auto& s : cases["tokenizer_samples"]) {
    EXPECT_EQ(gg.tokenizer->encode(s["text"].get<std::string>()), s["ids"].get<std::vector<int32_t>>()) << s["text"];
  }
  for (int32_t id = 0; id < 512; ++id) {
    ASSERT_EQ(gg.tokenizer->token_bytes(id), hf.tokenizer->token_bytes(id)) << id;
    ASSERT_EQ(gg.tokenizer->is_special(id), hf.tokenizer->is_special(id)) << id;
  }
  EXPECT_EQ(gg.eos_ids.front(), 503);
}

INSTANTIATE_TEST_SUITE_P(Models, TextAssetsOfModel,
                         testing::Values("qwen3-tied", "qwen3-untied", "qwen3-moe", "qwen3-next", "qwen3_5-dense",
                                         "qwen3_5-moe", "qwen3-yarn", "qwen3-moe-sparse"),
                         [](const testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

TEST(TextAssets, RealQwen3TokenizerDirectory) {
  const TextAssets a = load_text_assets(data_path("tokenizer"));
  EXPECT_EQ(a.tokenizer->token_count(), 151669);
  EXPECT_EQ(a.eos_token, "<|im_end|>");
  EXPECT_EQ(a.pad_token, "<|endoftext|>");
  EXPECT_TRUE(a.chat_template.has_value());
  EXPECT_NE(std::find(a.eos_ids.begin(), a.eos_ids.end(), 151645), a.eos_ids.end());
  EXPECT_NE(std::find(a.eos_ids.begin(), a.eos_ids.end(), 151643), a.eos_ids.end());
}

TEST(TextAssets, ChatTemplateJinjaFileTakesPriorityAsInTransformers) {
  test::TempDir tmp;
  const std::string src = data_path("models/qwen3-untied");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(src + "/" + f, tmp.file(f));
  }
  EXPECT_NE(load_text_assets(tmp.path()).chat_template->find("im_start"), std::string::npos);
  test::write_bytes(tmp.file("chat_template.jinja"), "{{ messages[0].content }}");
  EXPECT_EQ(load_text_assets(tmp.path()).chat_template, "{{ messages[0].content }}");
}

TEST(TextAssets, MissingTokenizerIsAnError) {
  test::TempDir tmp;
  EXPECT_THROW(load_text_assets(tmp.path()), Error);
  EXPECT_THROW(load_text_assets(tmp.file("absent.gguf")), Error);
}

TEST(TokenizeCli, PrintsIdsAndText) {
  const std::string tok = data_path("tokenizer");
  auto r = test::run_qwenrt({"tokenize", "--model", tok, "--text", "Hello world<|im_end|>"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[9707, 1879, 151645]\n");
  test::TempDir tmp;
  test::write_bytes(tmp.file("in.jsonl"), "\"Hello\"\n\"x<|im_end|>y\"\n");
  r = test::run_qwenrt({"tokenize", "--model", tok, "--jsonl", tmp.file("in.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[9707]\n[87, 151645, 88]\n");
  test::write_bytes(tmp.file("in.txt"), "a\nb");
  r = test::run_qwenrt({"tokenize", "--model", tok, "--file", tmp.file("in.txt")});
  EXPECT_EQ(r.out, "[64, 198, 65]\n");
  r = test::run_qwenrt({"detokenize", "--model", tok, "--ids", "9707,1879,151645"});
  EXPECT_EQ(r.out, "Hello world<|im_end|>");  // exactly, with no newline added
  r = test::run_qwenrt({"detokenize", "--model", tok, "--ids", "9707,1879,151645", "--skip-special"});
  EXPECT_EQ(r.out, "Hello world");
}

TEST(TokenizeCli, BadInputExitsNonZero) {
  const std::string tok = data_path("tokenizer");
  auto r = test::run_qwenrt({"detokenize", "--model", tok, "--ids", "151936"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;
  test::TempDir tmp;
  test::write_bytes(tmp.file("bad.jsonl"), "\"ok\"\n{not json\n");
  r = test::run_qwenrt({"tokenize", "--model", tok, "--jsonl", tmp.file("bad.jsonl")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.jsonl:2"), std::string::npos) << r.err;
  r = test::run_qwenrt({"tokenize", "--model", tok});
  EXPECT_EQ(r.exit_code, 1);
  r = test::run_qwenrt({"tokenize", "--model", tmp.path(), "--text", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no tokenizer.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace qwenrt
