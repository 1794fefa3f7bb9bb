// The tokenizer against Hugging Face `tokenizers` (tests/data/tokenizer, see PROVENANCE.md): every
// golden encoding and decoding, the streaming decoder, invalid input, and the Unicode machinery
// underneath (NFC against the Unicode conformance file).
#include "base/error.h"
#include "support/test_support.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace qwenrt::text {
namespace {

using test::data_path;

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

const Tokenizer& qwen3() {
  static const auto tok = Tokenizer::from_hf_json(data_path("tokenizer/tokenizer.json"), 151936);
  return *tok;
}

std::u32string hex_sequence(const std::string& s) {
  std::u32string out;
  std::istringstream in(s);
  std::string h;
  while (in >> h) out.push_back(static_cast<char32_t>(std::stoul(h, nullptr, 16)));
  return out;
}

TEST(Unicode, NfcConformance) {
  std::ifstream in(data_path("unicode/nfc_cases.txt"));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const size_t semi = line.find(';');
    const auto src = hex_sequence(line.substr(0, semi)), expect = hex_sequence(line.substr(semi + 1));
    ASSERT_EQ(nfc(src), expect) << line;
    ++n;
  }
  EXPECT_GT(n, 19000);
}

TEST(Unicode, Properties) {
  EXPECT_TRUE(is_white_space(0x85));
  EXPECT_TRUE(is_white_space(0xA0));
  EXPECT_TRUE(is_white_space(0x3000));
  EXPECT_FALSE(is_white_space(0xFEFF));
  EXPECT_FALSE(is_white_space(0x200B));
  EXPECT_FALSE(is_white_space(0x1C));
  EXPECT_TRUE(is_number(0xBD));    // ½
  EXPECT_TRUE(is_number(0x2460));  // ①
  EXPECT_TRUE(is_letter(0x10D50)); // GARAY CAPITAL LETTER A (Unicode 16)
  EXPECT_TRUE(is_mark(0x0301));
  EXPECT_FALSE(is_letter(0x0301));
  EXPECT_EQ(combining_class(0x0301), 230);
}

TEST(Unicode, InvalidUtf8BecomesOneReplacementPerMaximalSubpart) {
  EXPECT_EQ(decode_utf8("\xED\xA0\x80"), std::u32string(3, kReplacementChar));  // a surrogate: 3 subparts
  EXPECT_EQ(decode_utf8("\xE4\xB8ok"), (std::u32string{kReplacementChar, 'o', 'k'}));
  EXPECT_EQ(decode_utf8("\xF0\x9F\x98"), std::u32string(1, kReplacementChar));
  EXPECT_EQ(decode_utf8("\xC0\xAF"), std::u32string(2, kReplacementChar));  // over-long
  EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80"), std::u32string(4, kReplacementChar));  // past U+10FFFF
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(incomplete_utf8_tail("ab\xE4\xB8"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("ab\xE4\xB8\xAD"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("ab\xFF"), 0u);
}

TEST(Tokenizer, EncodesEveryGoldenCase) {
  const auto cases = read_jsonl(data_path("tokenizer/cases.jsonl"));
  ASSERT_GT(cases.size(), 4000u);
  int failures = 0;
  for (const auto& c : cases) {
    const auto ids = qwen3().encode(c["text"].get<std::string>());
    if (ids != c["ids"].get<std::vector<int32_t>>()) {
      ADD_FAILURE() << c["id"] << " (" << c["category"] << ")";
      if (++failures > 10) break;
    }
  }
}

TEST(Tokenizer, DecodesEveryGoldenCase) {
  for (const auto& c : read_jsonl(data_path("tokenizer/cases.jsonl"))) {
    ASSERT_EQ(qwen3().decode(c["ids"].get<std::vector<int32_t>>()), c["decoded"].get<std::string>()) << c["id"];
  }
  for (const auto& c : read_jsonl(data_path("tokenizer/decode_cases.jsonl"))) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(qwen3().decode(ids), c["text"].get<std::string>()) << c["id"];
    EXPECT_EQ(qwen3().decode(ids, true), c["text_skip_special"].get<std::string>()) << c["id"];
  }
}

// Pushing ids one at a time must give exactly decode(ids): nothing is emitted early (no U+FFFD
// for a character still arriving) and nothing is lost.
TEST(Tokenizer, IncrementalDecoderEqualsWholeDecode) {
  auto check = [](const std::vector<int32_t>& ids, bool skip) {
    IncrementalDecoder d(qwen3(), skip);
    std::string streamed;
    for (int32_t id : ids) streamed += d.push(id);
    streamed += d.finish();
    return streamed == qwen3().decode(ids, skip);
  };
  for (const auto& c : read_jsonl(data_path("tokenizer/decode_cases.jsonl"))) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_TRUE(check(ids, false)) << c["id"];
    EXPECT_TRUE(check(ids, true)) << c["id"];
  }
  int n = 0;
  for (const auto& c : read_jsonl(data_path("tokenizer/cases.jsonl"))) {
    if (c["category"] != "emoji" && c["category"] != "udhr" && c["category"] != "unicode") continue;
    EXPECT_TRUE(check(c["ids"].get<std::vector<int32_t>>(), false)) << c["id"];
    ++n;
  }
  EXPECT_GT(n, 100);
  // A three-byte character split over byte tokens: nothing until the last byte arrives.
  const auto ids = qwen3().encode("中");
  ASSERT_EQ(ids.size(), 1u);
  std::vector<int32_t> bytes;
  for (unsigned char b : std::string("中")) bytes.push_back(*qwen3().find_token(std::string(1, static_cast<char>(b))));
  IncrementalDecoder d(qwen3());
  EXPECT_EQ(d.push(bytes[0]), "");
  EXPECT_EQ(d.push(bytes[1]), "");
  EXPECT_EQ(d.push(bytes[2]), "中");
  EXPECT_EQ(d.finish(), "");
  IncrementalDecoder cut(qwen3());
  EXPECT_EQ(cut.push(bytes[0]), "");
  EXPECT_EQ(cut.finish(), "\xEF\xBF\xBD");  // an unfinished character at the end becomes U+FFFD
}

TEST(Tokenizer, SpecialTokensAnywhereAndNearMisses) {
  EXPECT_EQ(qwen3().encode("x<|im_end|>y"), (std::vector<int32_t>{87, 151645, 88}));
  EXPECT_EQ(qwen3().encode("<|im_end|>\xCC\xB8"), (std::vector<int32_t>{151645, 136, 116}));  // NFC per stretch
  const auto near = qwen3().encode("<|im_start|");
  for (int32_t id : near) EXPECT_LT(id, 151643);
  EXPECT_EQ(qwen3().encode_ordinary("<|im_end|>").size() > 1, true);  // not recognised
  EXPECT_TRUE(qwen3().is_special(151645));
  EXPECT_FALSE(qwen3().is_special(151667));  // <think>: added, not special
  EXPECT_TRUE(qwen3().is_added(151667));
  EXPECT_EQ(*qwen3().find_token("<think>"), 151667);
}

TEST(Tokenizer, InvalidUtf8InputIsRepairedDeterministically) {
  const std::string bad = "ok \xFF\xFE then \xE4\xB8";
  const auto ids = qwen3().encode(bad);
  EXPECT_EQ(ids, qwen3().encode("ok \xEF\xBF\xBD\xEF\xBF\xBD then \xEF\xBF\xBD"));
  EXPECT_EQ(qwen3().decode(ids), "ok \xEF\xBF\xBD\xEF\xBF\xBD then \xEF\xBF\xBD");
}

TEST(Tokenizer, IdRanges) {
  EXPECT_EQ(qwen3().token_count(), 151669);
  EXPECT_EQ(qwen3().vocab_size(), 151936);
  EXPECT_EQ(qwen3().decode({151700, 151935}), "");  // padding rows decode to nothing
  EXPECT_THROW(qwen3().decode({151936}), Error);
  EXPECT_THROW(qwen3().decode({-1}), Error);
}

TEST(Tokenizer, RejectsBrokenFiles) {
  test::TempDir tmp;
  test::write_bytes(tmp.file("t.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}");
  EXPECT_THROW(Tokenizer::from_hf_json(tmp.file("t.json")), Error);  // truncated JSON
  test::write_bytes(tmp.file("t.json"), R"({"model": {"type": "Unigram", "vocab": []}})");
  EXPECT_THROW(Tokenizer::from_hf_json(tmp.file("t.json")), Error);
  EXPECT_THROW(Tokenizer::from_hf_json(tmp.file("absent.json")), Error);
}

}  // namespace
}  // namespace qwenrt::text
