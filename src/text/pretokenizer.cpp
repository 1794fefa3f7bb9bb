#include "text/pretokenizer.h"

#include "base/error.h"
#include "text/unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace qwenrt::text {
namespace {

// One decoded code point and where it sits in the UTF-8 text.
struct Cp {
  char32_t c;
  uint32_t offset;
};

// The Qwen2 / Qwen3.5 split regex, alternative by alternative (see the header).
class QwenScanner final : public PreTokenizer {
 public:
  explicit QwenScanner(bool with_marks) : PreTokenizer(with_marks ? Kind::Qwen35 : Kind::Qwen2), marks_(with_marks) {}

  void split(std::string_view text, std::vector<std::pair<size_t, size_t>>& pieces) const override {
    std::vector<Cp> cps;
    cps.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      const auto b = static_cast<unsigned char>(text[i]);
      char32_t c;
      size_t n;
      if (b < 0x80) {
        c = b;
        n = 1;
      } else if (b < 0xE0) {
        c = ((b & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
        n = 2;
      } else if (b < 0xF0) {
        c = ((b & 0x0Fu) << 12) | ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6) |
            (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
        n = 3;
      } else {
        c = ((b & 0x07u) << 18) | ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 12) |
            ((static_cast<unsigned char>(text[i + 2]) & 0x3Fu) << 6) | (static_cast<unsigned char>(text[i + 3]) & 0x3Fu);
        n = 4;
      }
      cps.push_back({c, static_cast<uint32_t>(i)});
      i += n;
    }
    const size_t n = cps.size();
    auto offset = [&](size_t k) { return k < n ? cps[k].offset : static_cast<uint32_t>(text.size()); };
    size_t i = 0;
    while (i < n) {
      const size_t end = match(cps, i);
      pieces.emplace_back(offset(i), offset(end));
      i = end;
    }
  }

 private:
  bool letter(char32_t c) const { return is_letter(c) || (marks_ && is_mark(c)); }
  static bool newline(char32_t c) { return c == '\r' || c == '\n'; }

  // (?i:'s|'t|'re|'ve|'m|'ll|'d): case-insensitive with simple case folding, under which only
  // U+017F LONG S folds onto one of these ASCII letters.
  static bool fold_is(char32_t c, char lower) {
    if (c < 128) return (c | 0x20) == static_cast<char32_t>(lower) && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
    return lower == 's' && c == 0x17F;
  }

  // The end of the match starting at i (the regex always matches at least one code point).
  size_t match(const std::vector<Cp>& s, size_t i) const {
    const size_t n = s.size();
    auto at = [&](size_t k) -> char32_t { return k < n ? s[k].c : 0; };
    const char32_t c = s[i].c;
    // 1. contractions
    if (c == '\'' && i + 1 < n) {
      const char32_t a = at(i + 1), b = i + 2 < n ? at(i + 2) : 0;
      if (fold_is(a, 's') || fold_is(a, 't') || fold_is(a, 'm') || fold_is(a, 'd')) return i + 2;
      if (i + 2 < n && ((fold_is(a, 'r') && fold_is(b, 'e')) || (fold_is(a, 'v') && fold_is(b, 'e')) ||
                        (fold_is(a, 'l') && fold_is(b, 'l')))) {
        return i + 3;
      }
    }
    // 2. [^\r\n\p{L}\p{N}]?\p{L}+  (letters: [\p{L}\p{M}] in the Qwen3.5 variant)
    {
      size_t j = i;
      if (!newline(c) && !is_letter(c) && !is_number(c) && i + 1 < n && letter(at(i + 1))) j = i + 1;
      if (letter(at(j)) && j < n) {
        while (j < n && letter(s[j].c)) ++j;
        return j;
      }
    }
    // 3. \p{N}
    if (is_number(c)) return i + 1;
    // 4. " ?[^\s\p{L}\p{N}]+[\r\n]*"  (\p{M} also excluded in the Qwen3.5 variant)
    {
      auto punct = [&](char32_t x) { return !is_white_space(x) && !letter(x) && !is_number(x); };
      size_t j = i;
      if (c == ' ' && i + 1 < n && punct(at(i + 1))) j = i + 1;
      if (j < n && punct(s[j].c)) {
        while (j < n && punct(s[j].c)) ++j;
        while (j < n && newline(s[j].c)) ++j;
        return j;
      }
    }
    if (is_white_space(c)) {
      size_t run_end = i;
      size_t last_newline = n;
      while (run_end < n && is_white_space(s[run_end].c)) {
        if (newline(s[run_end].c)) last_newline = run_end;
        ++run_end;
      }
      // 5. \s*[\r\n]+ : the whitespace up to and including the run's last line break.
      if (last_newline != n) return last_newline + 1;
      // 6. \s+(?!\S) : the run, minus its last character when a non-space follows it.
      if (run_end == n) return run_end;
      if (run_end - i >= 2) return run_end - 1;
      // 7. \s+
      return run_end;
    }
    return i + 1;  // unreachable for this pattern: every code point matches some alternative
  }

  bool marks_;
};

// Any other pattern, through PCRE2 in UTF + UCP mode.
class Pcre2Splitter final : public PreTokenizer {
 public:
  explicit Pcre2Splitter(const std::string& pattern) : PreTokenizer(Kind::Pcre2) {
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err,
                          &err_offset, nullptr);
    if (!code_) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(err, buf, sizeof buf);
      fail("pre-tokenizer regex '{}' does not compile at offset {}: {}", pattern, err_offset, reinterpret_cast<char*>(buf));
    }
  }
  ~Pcre2Splitter() override { pcre2_code_free(code_); }

  void split(std::string_view text, std::vector<std::pair<size_t, size_t>>& pieces) const override {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_, nullptr);
    size_t pos = 0, last = 0;
    while (pos <= text.size()) {
      const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
      if (rc < 0) break;
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      if (ov[0] > last) pieces.emplace_back(last, ov[0]);  // Isolated: the gap is a piece too
      if (ov[1] > ov[0]) pieces.emplace_back(ov[0], ov[1]);
      last = ov[1];
      pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
    }
    if (last < text.size()) pieces.emplace_back(last, text.size());
    pcre2_match_data_free(md);
  }

 private:
  pcre2_code* code_ = nullptr;
};

}  // namespace

const std::string& PreTokenizer::qwen2_pattern() {
  static const std::string p =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  return p;
}

const std::string& PreTokenizer::qwen35_pattern() {
  static const std::string p =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  return p;
}

std::shared_ptr<PreTokenizer> PreTokenizer::from_pattern(const std::string& pattern) {
  if (pattern == qwen2_pattern()) return std::make_shared<QwenScanner>(false);
  if (pattern == qwen35_pattern()) return std::make_shared<QwenScanner>(true);
  return std::make_shared<Pcre2Splitter>(pattern);
}

std::shared_ptr<PreTokenizer> PreTokenizer::from_gguf_pre(const std::string& pre) {
  if (pre == "qwen2") return std::make_shared<QwenScanner>(false);
  if (pre == "qwen35") return std::make_shared<QwenScanner>(true);
  fail("tokenizer.ggml.pre '{}' is not a pre-tokenizer qwenrt knows (qwen2, qwen35)", pre);
}

}  // namespace qwenrt::text
