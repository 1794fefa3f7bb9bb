#pragma once
// The Qwen tokenizer with Hugging Face `tokenizers` semantics: added tokens are split out of the
// raw text first (leftmost-longest, anywhere, special or not), each stretch between them is NFC
// normalized, pre-tokenized with the Split regex, mapped to the byte-level alphabet and BPE
// encoded; no BOS/EOS is added. Decoding concatenates each token's bytes (added tokens: their
// text) and turns invalid UTF-8 into U+FFFD.
//
// Invalid UTF-8 given to encode() is handled deterministically: each maximal invalid
// subsequence becomes U+FFFD before anything else happens (as reading the bytes with Python's
// errors="replace" would), so the result is the encoding of that repaired text.
#include "text/bpe.h"
#include "text/pretokenizer.h"
#include "text/string_index.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qwenrt::text {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;  // swallow whitespace on the left / right when matched
  bool rstrip = false;
};

class Tokenizer;

// Assembles a tokenizer piece by piece, whichever file it comes from, without intermediate
// copies of the vocabulary or the merges (a 151k-entry vocabulary loads in a few MB of memory).
class TokenizerBuilder {
 public:
  explicit TokenizerBuilder(std::string origin);
  void reserve(size_t tokens, size_t merges);
  // An ordinary (BPE) token, written in the byte-level alphabet.
  void add_token(std::string_view text, int32_t id);
  // Merges in rank order; resolved to ids as they come once the tokens are known.
  void add_merge(std::string_view left, std::string_view right);
  void add_added_token(AddedToken token);
  void set_pre_tokenizer(std::shared_ptr<PreTokenizer> pre) { pre_ = std::move(pre); }
  void set_nfc(bool nfc) { nfc_ = nfc; }
  void set_vocab_size(int64_t vocab_size) { vocab_size_ = vocab_size; }
  const std::string& origin() const { return origin_; }
  std::shared_ptr<Tokenizer> build();

 private:
  friend class Tokenizer;
  void resolve_merge(std::string_view left, std::string_view right);
  std::string origin_;
  StringIndex vocab_;
  std::vector<std::pair<int32_t, std::string>> token_bytes_;  // (id, raw bytes), any order
  std::vector<std::array<int32_t, 3>> merges_;                 // (left, right, merged) ids, by rank
  std::vector<std::pair<std::string, std::string>> unresolved_;  // merges seen before their tokens
  bool tokens_closed_ = false;
  std::vector<AddedToken> added_;
  std::shared_ptr<PreTokenizer> pre_;
  bool nfc_ = true;
  int64_t vocab_size_ = 0;
  std::string joined_;
};

class Tokenizer {
 public:
  // tokenizer.json (Hugging Face). `vocab_size` is the model's embedding rows (0: the token count).
  static std::shared_ptr<Tokenizer> from_hf_json(const std::string& path, int64_t vocab_size = 0);

  std::vector<int32_t> encode(std::string_view text) const;
  // Tokens of `text` without looking for added tokens in it (user text that must not smuggle
  // control tokens in).
  std::vector<int32_t> encode_ordinary(std::string_view text) const;
  // Throws Error for ids outside [0, vocab_size).
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;
  // The raw bytes of one token (may be part of a UTF-8 character); "" for padding ids.
  std::string_view token_bytes(int32_t id) const;

  int64_t token_count() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  int64_t vocab_size() const { return vocab_size_; }
  bool is_special(int32_t id) const;
  bool is_added(int32_t id) const;
  std::optional<int32_t> find_token(std::string_view text) const;  // by its text (added or ordinary)
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  PreTokenizer::Kind pre_tokenizer_kind() const { return pre_->kind(); }

 private:
  friend class TokenizerBuilder;
  explicit Tokenizer(TokenizerBuilder& b);
  void encode_stretch(std::string_view text, std::vector<int32_t>& out) const;
  void check_id(int32_t id) const;

  StringIndex vocab_;             // byte-level string -> id
  std::string bytes_arena_;       // raw bytes of all tokens ...
  std::vector<uint32_t> offsets_; // ... token id's bytes are [offsets_[id], offsets_[id + 1])
  std::vector<AddedToken> added_;
  std::vector<uint8_t> flags_;    // id -> 1 added, 2 special
  std::array<std::vector<size_t>, 256> added_by_first_byte_;  // indices into added_, longest first
  std::shared_ptr<PreTokenizer> pre_;
  std::unique_ptr<Bpe> bpe_;
  bool nfc_ = true;
  int64_t vocab_size_ = 0;
  std::string origin_;
};

// Streaming decode: push token ids as they are generated, get text as soon as it is complete.
// Never emits part of a UTF-8 character and never loses one: a sequence still waiting for its
// continuation bytes is held back; finish() flushes what is left.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tok_(tokenizer), skip_special_(skip_special) {}
  std::string push(int32_t id);
  std::string finish();

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace qwenrt::text
