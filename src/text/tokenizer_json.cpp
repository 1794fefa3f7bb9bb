// Loading tokenizer.json. The file is ~11 MB, nearly all of it the vocabulary and the merges, so
// a SAX pass streams those two straight into vectors and builds a JSON tree only for the small
// rest (added tokens, normalizer, pre-tokenizer): about twice as fast as parsing it all.
#include "base/error.h"
#include "base/strings.h"
#include "text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace qwenrt::text {
namespace {

using json = nlohmann::json;

class Loader final : public nlohmann::json_sax<json> {
 public:
  explicit Loader(TokenizerBuilder& builder) : builder_(builder) {}
  json rest = json::object();

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override { return number(v); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<int64_t>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return value(v); }
  bool binary(binary_t&) override { return false; }
  bool string(string_t& v) override {
    if (in_merges() && depth_ == 3) {  // "a b"
      const size_t sp = v.find(' ');
      if (sp == std::string::npos) return bad("model.merges entry '" + v + "' is not two tokens separated by a space");
      builder_.add_merge(std::string_view(v).substr(0, sp), std::string_view(v).substr(sp + 1));
      return true;
    }
    if (in_merges() && depth_ == 4) {  // ["a", "b"]
      pair_.push_back(std::move(v));
      return true;
    }
    return value(std::move(v));
  }
  bool start_object(std::size_t) override {
    ++depth_;
    if (capturing()) return true;
    return open(json::object());
  }
  bool end_object() override {
    --depth_;
    if (capturing_vocab_ && depth_ == 2) capturing_vocab_ = false;
    else if (capturing()) return true;
    else stack_.pop_back();
    keys_.resize(std::min(keys_.size(), static_cast<size_t>(depth_)));
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    if (in_merges() && depth_ == 4) {
      pair_.clear();
      return true;
    }
    if (depth_ == 3 && path_is("model", "merges")) {
      capturing_merges_ = true;
      return true;
    }
    if (capturing()) return true;
    return open(json::array());
  }
  bool end_array() override {
    --depth_;
    if (in_merges() && depth_ == 3) {
      if (pair_.size() != 2) return bad("model.merges entries must be pairs of strings");
      builder_.add_merge(pair_[0], pair_[1]);
      return true;
    }
    if (capturing_merges_ && depth_ == 2) {
      capturing_merges_ = false;
      return true;
    }
    if (capturing()) return true;
    stack_.pop_back();
    return true;
  }
  bool key(string_t& k) override {
    if (capturing_vocab_) {
      pending_key_ = std::move(k);
      return true;
    }
    keys_.resize(static_cast<size_t>(depth_));
    keys_.back() = k;
    if (depth_ == 2 && keys_[0] == "model" && k == "vocab") {
      capturing_vocab_ = true;
      // The object that follows is captured; its start_object must not open a tree node.
      return true;
    }
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    error = fmt::format("invalid JSON at byte {}: {}", pos, e.what());
    return false;
  }

  std::string error;

 private:
  bool path_is(const char* a, const char* b) const { return keys_.size() >= 2 && keys_[0] == a && keys_[1] == b; }
  bool capturing() const { return capturing_vocab_ || capturing_merges_; }
  bool in_merges() const { return capturing_merges_; }
  bool bad(const std::string& why) {
    error = why;
    return false;
  }
  bool number(int64_t v) {
    if (capturing_vocab_) {
      if (depth_ != 3) return bad("model.vocab must map token strings to integer ids");
      if (v < 0 || v >= (int64_t{1} << 24)) return bad(fmt::format("token '{}' has id {}", pending_key_, v));
      builder_.add_token(pending_key_, static_cast<int32_t>(v));
      return true;
    }
    return value(v);
  }
  template <typename T>
  bool value(T&& v) {
    if (capturing()) return bad("model.vocab / model.merges hold an unexpected value");
    if (stack_.empty()) {
      if (depth_ == 0) return bad("the top level is not an object");
      return true;
    }
    json& top = *stack_.back();
    if (top.is_array()) top.push_back(std::forward<T>(v));
    else top[key_] = std::forward<T>(v);
    return true;
  }
  bool open(json node) {
    if (stack_.empty()) {
      if (!node.is_object()) return bad("the top level is not an object");
      stack_.push_back(&rest);
      return true;
    }
    json& top = *stack_.back();
    json* child;
    if (top.is_array()) {
      top.push_back(std::move(node));
      child = &top.back();
    } else {
      top[key_] = std::move(node);
      child = &top[key_];
    }
    stack_.push_back(child);
    return true;
  }

  TokenizerBuilder& builder_;
  int depth_ = 0;
  std::vector<json*> stack_;
  std::vector<std::string> keys_;
  std::string key_, pending_key_;
  std::vector<std::string> pair_;
  bool capturing_vocab_ = false;
  bool capturing_merges_ = false;
};

std::shared_ptr<PreTokenizer> pre_tokenizer_of(const json& p, const std::string& origin) {
  // Qwen: Sequence[Split(Regex, Isolated), ByteLevel(use_regex false)]. A lone ByteLevel with
  // use_regex true is GPT-2's split.
  auto byte_level_ok = [&](const json& b) {
    return b.value("type", "") == "ByteLevel" && !b.value("add_prefix_space", false);
  };
  if (p.value("type", "") == "Sequence" && p.contains("pretokenizers") && p["pretokenizers"].is_array()) {
    const json& seq = p["pretokenizers"];
    if (seq.size() == 2 && seq[0].value("type", "") == "Split" && byte_level_ok(seq[1]) && !seq[1].value("use_regex", true)) {
      const json& split = seq[0];
      if (split.value("behavior", "") != "Isolated" || split.value("invert", false)) {
        fail("{}: only Split pre-tokenizers with behavior Isolated are supported", origin);
      }
      if (!split.contains("pattern") || !split["pattern"].contains("Regex") || !split["pattern"]["Regex"].is_string()) {
        fail("{}: the Split pre-tokenizer needs a Regex pattern", origin);
      }
      return PreTokenizer::from_pattern(split["pattern"]["Regex"].get<std::string>());
    }
  }
  if (byte_level_ok(p) && p.value("use_regex", true)) {
    return PreTokenizer::from_pattern(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
  }
  fail("{}: unsupported pre_tokenizer {}", origin, p.dump().substr(0, 200));
}

// The file, mapped with its pages populated up front: on virtual machines a page fault costs
// microseconds, and faulting in 11 MB one page at a time is a large share of the load time.
class MappedText {
 public:
  explicit MappedText(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail("{}: not a regular file", path);
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        fail("{}: cannot map: {}", path, std::strerror(errno));
      }
      data_ = static_cast<const char*>(p);
    }
    ::close(fd);
  }
  ~MappedText() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view view() const { return {data_ ? data_ : "", size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

std::shared_ptr<Tokenizer> Tokenizer::from_hf_json(const std::string& path, int64_t vocab_size) {
  const MappedText file(path);
  TokenizerBuilder builder(path);
  builder.reserve(size_t{1} << 18, size_t{1} << 18);  // Qwen: 151k tokens and merges
  builder.set_vocab_size(vocab_size);
  Loader loader(builder);
  const std::string_view text = file.view();
  if (!json::sax_parse(text.begin(), text.end(), &loader) || !loader.error.empty()) {
    fail("{}: {}", path, loader.error.empty() ? "invalid JSON" : loader.error);
  }
  const json& r = loader.rest;
  if (!r.contains("model") || !r["model"].is_object()) fail("{}: 'model' is missing", path);
  if (r["model"].value("type", "BPE") != "BPE") fail("{}: model.type '{}' is not supported (BPE is)", path, r["model"].value("type", ""));
  if (r["model"].value("byte_fallback", false)) fail("{}: BPE byte_fallback is not supported", path);
  if (r.contains("added_tokens")) {
    if (!r["added_tokens"].is_array()) fail("{}: added_tokens is not an array", path);
    for (const json& a : r["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string()) {
        fail("{}: added_tokens entries need an integer 'id' and a string 'content'", path);
      }
      AddedToken t;
      t.id = a["id"].get<int32_t>();
      t.content = a["content"].get<std::string>();
      t.special = a.value("special", false);
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      builder.add_added_token(std::move(t));
    }
  }
  const json norm = r.value("normalizer", json());
  if (norm.is_null()) {
    builder.set_nfc(false);
  } else if (norm.value("type", "") == "NFC") {
    builder.set_nfc(true);
  } else {
    fail("{}: normalizer {} is not supported (NFC or none)", path, norm.dump().substr(0, 100));
  }
  if (!r.contains("pre_tokenizer") || !r["pre_tokenizer"].is_object()) fail("{}: pre_tokenizer is missing", path);
  builder.set_pre_tokenizer(pre_tokenizer_of(r["pre_tokenizer"], path));
  return builder.build();
}

}  // namespace qwenrt::text
