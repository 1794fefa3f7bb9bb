#include "text/tokenizer.h"

#include "base/error.h"
#include "text/byte_level.h"
#include "text/unicode.h"

#include <algorithm>

namespace qwenrt::text {

TokenizerBuilder::TokenizerBuilder(std::string origin) : origin_(std::move(origin)) {}

void TokenizerBuilder::reserve(size_t tokens, size_t merges) {
  vocab_.reserve(tokens);
  token_bytes_.reserve(tokens);
  merges_.reserve(merges);
}

void TokenizerBuilder::add_token(std::string_view text, int32_t id) {
  if (id < 0 || id >= (1 << 24)) fail("{}: token '{}' has id {}", origin_, text, id);
  std::string bytes;
  if (!unicode_to_bytes(text, &bytes)) fail("{}: token {} ('{}') is not in the byte-level alphabet", origin_, id, text);
  if (!vocab_.insert(text, id)) fail("{}: token '{}' appears twice in the vocabulary", origin_, text);
  token_bytes_.emplace_back(id, std::move(bytes));
}

void TokenizerBuilder::resolve_merge(std::string_view a, std::string_view b) {
  joined_.assign(a).append(b);
  const auto ia = vocab_.find(a), ib = vocab_.find(b), im = vocab_.find(joined_);
  if (!ia || !ib || !im) fail("{}: merge {} ('{} {}') refers to a token not in the vocabulary", origin_, merges_.size(), a, b);
  merges_.push_back({*ia, *ib, *im});
}

void TokenizerBuilder::add_merge(std::string_view a, std::string_view b) {
  // Files list the vocabulary first; should one not, keep merges as text until build().
  if (!unresolved_.empty() || vocab_.size() == 0) {
    unresolved_.emplace_back(a, b);
    return;
  }
  resolve_merge(a, b);
}

void TokenizerBuilder::add_added_token(AddedToken token) {
  if (token.content.empty()) fail("{}: added token {} has empty content", origin_, token.id);
  if (token.id < 0 || token.id >= (1 << 24)) fail("{}: added token '{}' has id {}", origin_, token.content, token.id);
  added_.push_back(std::move(token));
}

std::shared_ptr<Tokenizer> TokenizerBuilder::build() {
  if (!pre_) fail("{}: no pre-tokenizer", origin_);
  if (vocab_.size() == 0) fail("{}: the vocabulary is empty", origin_);
  for (const auto& [a, b] : unresolved_) resolve_merge(a, b);
  unresolved_.clear();
  return std::shared_ptr<Tokenizer>(new Tokenizer(*this));
}

Tokenizer::Tokenizer(TokenizerBuilder& b)
    : vocab_(std::move(b.vocab_)), added_(std::move(b.added_)), pre_(std::move(b.pre_)), nfc_(b.nfc_), origin_(b.origin_) {
  // Ids past the last real token (padding rows of the embedding) have no token.
  int64_t count = 0;
  for (const auto& [id, bytes] : b.token_bytes_) count = std::max<int64_t>(count, int64_t{id} + 1);
  for (const auto& a : added_) count = std::max<int64_t>(count, int64_t{a.id} + 1);
  vocab_size_ = std::max<int64_t>(b.vocab_size_, count);
  std::vector<const std::string*> by_id(static_cast<size_t>(count), nullptr);
  for (const auto& [id, bytes] : b.token_bytes_) by_id[static_cast<size_t>(id)] = &bytes;
  flags_.assign(static_cast<size_t>(count), 0);
  for (size_t i = 0; i < added_.size(); ++i) {
    const AddedToken& a = added_[i];
    by_id[static_cast<size_t>(a.id)] = &a.content;
    flags_[static_cast<size_t>(a.id)] = a.special ? 3 : 1;
    added_by_first_byte_[static_cast<unsigned char>(a.content[0])].push_back(i);
  }
  offsets_.reserve(static_cast<size_t>(count) + 1);
  for (const std::string* s : by_id) {
    offsets_.push_back(static_cast<uint32_t>(bytes_arena_.size()));
    if (s) bytes_arena_ += *s;
  }
  offsets_.push_back(static_cast<uint32_t>(bytes_arena_.size()));
  for (auto& list : added_by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](size_t x, size_t y) { return added_[x].content.size() > added_[y].content.size(); });
  }
  std::array<int32_t, 256> byte_ids{};
  for (int c = 0; c < 256; ++c) {
    const auto id = vocab_.find(byte_to_unicode()[static_cast<size_t>(c)]);
    if (!id) fail("{}: the vocabulary lacks the byte-level token of byte {}", origin_, c);
    byte_ids[static_cast<size_t>(c)] = *id;
  }
  bpe_ = std::make_unique<Bpe>(byte_ids);
  bpe_->reserve(b.merges_.size());
  for (const auto& m : b.merges_) bpe_->add_merge(m[0], m[1], m[2]);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < token_count() && (flags_[static_cast<size_t>(id)] & 2);
}

bool Tokenizer::is_added(int32_t id) const { return id >= 0 && id < token_count() && (flags_[static_cast<size_t>(id)] & 1); }

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  for (const auto& a : added_) {
    if (a.content == text) return a.id;
  }
  std::string key;
  for (unsigned char c : text) key += byte_to_unicode()[c];
  return vocab_.find(key);
}

void Tokenizer::encode_stretch(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::string normalized;
  if (nfc_ && !is_nfc_quick_utf8(text)) {
    normalized = nfc_utf8(text);
    text = normalized;
  }
  std::vector<std::pair<size_t, size_t>> pieces;
  pre_->split(text, pieces);
  for (const auto& [b, e] : pieces) bpe_->encode(text.substr(b, e - b), out);
}

std::vector<int32_t> Tokenizer::encode_ordinary(std::string_view raw) const {
  std::string repaired;
  if (!is_valid_utf8(raw)) repaired = sanitize_utf8(raw);
  const std::string_view text = repaired.empty() ? raw : repaired;
  std::vector<int32_t> out;
  encode_stretch(text, out);
  return out;
}

std::vector<int32_t> Tokenizer::encode(std::string_view raw) const {
  std::string repaired;
  if (!is_valid_utf8(raw)) repaired = sanitize_utf8(raw);
  const std::string_view text = repaired.empty() ? raw : repaired;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  size_t start = 0;  // beginning of the current stretch of ordinary text
  size_t i = 0;
  while (i < text.size()) {
    const auto& candidates = added_by_first_byte_[static_cast<unsigned char>(text[i])];
    const AddedToken* hit = nullptr;
    for (size_t k : candidates) {  // longest first: the first hit is the longest here
      const std::string& c = added_[k].content;
      if (text.compare(i, c.size(), c) == 0) {
        hit = &added_[k];
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    size_t stretch_end = i;
    if (hit->lstrip) {
      while (stretch_end > start && is_white_space(static_cast<unsigned char>(text[stretch_end - 1]))) --stretch_end;
    }
    encode_stretch(text.substr(start, stretch_end - start), out);
    out.push_back(hit->id);
    i += hit->content.size();
    if (hit->rstrip) {
      while (i < text.size() && is_white_space(static_cast<unsigned char>(text[i]))) ++i;
    }
    start = i;
  }
  encode_stretch(text.substr(start), out);
  return out;
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size_) fail("token id {} is out of range: the vocabulary has ids 0..{}", id, vocab_size_ - 1);
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  check_id(id);
  if (id >= token_count()) return {};
  return std::string_view(bytes_arena_).substr(offsets_[static_cast<size_t>(id)], offsets_[static_cast<size_t>(id) + 1] - offsets_[static_cast<size_t>(id)]);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    const std::string_view b = token_bytes(id);
    if (skip_special && is_special(id)) continue;
    bytes += b;
  }
  return sanitize_utf8(bytes);
}

std::string IncrementalDecoder::push(int32_t id) {
  const std::string_view b = tok_.token_bytes(id);
  if (!(skip_special_ && tok_.is_special(id))) pending_ += b;
  const size_t hold = incomplete_utf8_tail(pending_);
  std::string ready = sanitize_utf8(std::string_view(pending_).substr(0, pending_.size() - hold));
  pending_.erase(0, pending_.size() - hold);
  return ready;
}

std::string IncrementalDecoder::finish() {
  std::string rest = sanitize_utf8(pending_);
  pending_.clear();
  return rest;
}

}  // namespace qwenrt::text
