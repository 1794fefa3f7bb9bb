#pragma once
// Splits normalized text into the pieces BPE runs on, as the Split pre-tokenizer of Qwen's
// tokenizer.json does (behavior Isolated: every regex match is a piece; text between matches,
// if any, is a piece too). The two Qwen patterns are scanned by hand over code points with the
// regex engine's first-alternative-wins, backtracking semantics and Unicode 17 properties:
//   qwen2:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen35: the same with [\p{L}\p{M}]+ for \p{L}+ and \p{M} excluded from the punctuation run.
// Any other pattern runs through PCRE2 (whose Unicode tables are older; see the tokenizer README).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt::text {

class PreTokenizer {
 public:
  enum class Kind { Qwen2, Qwen35, Pcre2 };

  // `pattern` as tokenizer.json writes it; a GGUF's tokenizer.ggml.pre ("qwen2", "qwen35") maps
  // to the known patterns through from_gguf_pre.
  static std::shared_ptr<PreTokenizer> from_pattern(const std::string& pattern);
  static std::shared_ptr<PreTokenizer> from_gguf_pre(const std::string& pre);
  static const std::string& qwen2_pattern();
  static const std::string& qwen35_pattern();

  virtual ~PreTokenizer() = default;
  Kind kind() const { return kind_; }
  // Appends the pieces of `text` (valid UTF-8) as [begin, end) byte offsets.
  virtual void split(std::string_view text, std::vector<std::pair<size_t, size_t>>& pieces) const = 0;

 protected:
  explicit PreTokenizer(Kind kind) : kind_(kind) {}

 private:
  Kind kind_;
};

}  // namespace qwenrt::text
