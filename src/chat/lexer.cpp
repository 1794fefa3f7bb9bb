#include "chat/lexer.h"

#include "chat/python_text.h"
#include "chat/template_error.h"

#include <cctype>
#include <algorithm>
#include <cstring>

namespace qwenrt::chat {
namespace {

int line_at(const std::string& s, size_t pos, size_t from, int line_from) {
  int line = line_from;
  for (size_t i = from; i < pos && i < s.size(); ++i) line += s[i] == '\n';
  return line;
}

// Python's \s as re sees it in str patterns: Unicode whitespace.
bool is_ws_at(const std::string& s, size_t i, size_t* len) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    *len = 1;
    return b == ' ' || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F);
  }
  const std::u32string c = py::to_u32(s.substr(i, b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2));
  *len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  return !c.empty() && py::is_space(c[0]);
}

void rstrip_ws(std::string& text) {
  // Strip trailing whitespace (any Unicode space) from text.
  while (!text.empty()) {
    size_t start = text.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t len;
    if (!is_ws_at(text, start, &len) || start + len != text.size()) break;
    text.resize(start);
  }
}

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) {}

  std::vector<Token> run() {
    size_t pos = 0;
    bool strip_next = false;     // the previous tag ended with '-': drop all whitespace after it
    bool trim_newline = false;   // the previous block / comment tag drops one newline after it
    bool line_starting = true;   // what precedes the current text ended a line (Jinja2's flag)
    while (pos < s_.size()) {
      const size_t open = find_open(pos);
      std::string text = s_.substr(pos, open - pos);
      const int text_line = line_;
      line_ = line_at(s_, open, pos, line_);
      if (strip_next) {
        size_t k = 0, len;
        while (k < text.size() && is_ws_at(text, k, &len)) k += len;
        line_starting = k > 0 && text[k - 1] == '\n';
        text.erase(0, k);
      } else if (trim_newline && !text.empty() && text[0] == '\n') {
        text.erase(0, 1);
        line_starting = true;
      }
      strip_next = trim_newline = false;
      if (open >= s_.size()) {
        emit_text(std::move(text), text_line);
        break;
      }
      const char kind = s_[open + 1];  // '{', '%' or '#'
      const char mod = open + 2 < s_.size() ? s_[open + 2] : '\0';
      if (mod == '-') {
        rstrip_ws(text);
      } else if (kind != '{' && mod != '+') {
        // lstrip_blocks: whitespace between the start of the line and a block or comment tag goes.
        const size_t l_pos = text.rfind('\n') + 1;  // npos + 1 == 0
        if ((l_pos > 0 || line_starting) && l_pos < text.size()) {
          size_t k = l_pos, len;
          while (k < text.size() && is_ws_at(text, k, &len)) k += len;
          if (k == text.size()) text.resize(l_pos);
        }
      }
      emit_text(std::move(text), text_line);
      line_starting = false;
      size_t body = open + 2 + (mod == '-' || mod == '+' ? 1 : 0);
      if (kind == '#') {
        const size_t close = s_.find("#}", body);
        if (close == std::string::npos) throw TemplateError("unclosed comment", line_);
        strip_next = close > body && s_[close - 1] == '-';
        trim_newline = !(close > body && s_[close - 1] == '+') && !strip_next;
        line_ = line_at(s_, close + 2, open, line_);
        pos = close + 2;
        continue;
      }
      const bool is_block = kind == '%';
      if (is_block && raw_start(body)) {
        pos = lex_raw(body, &strip_next, &trim_newline);
        continue;
      }
      out_.push_back({is_block ? Token::Kind::Statement : Token::Kind::Print, "", line_});
      pos = lex_expression(body, is_block ? '%' : '}', &strip_next, &trim_newline);
      if (!is_block) trim_newline = false;  // trim_blocks applies to block tags only
    }
    return std::move(out_);
  }

 private:
  size_t find_open(size_t pos) const {
    while (true) {
      const size_t p = s_.find('{', pos);
      if (p == std::string::npos || p + 1 >= s_.size()) return s_.size();
      const char c = s_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      pos = p + 1;
    }
  }

  void emit_text(std::string text, int line) {
    if (!text.empty()) out_.push_back({Token::Kind::Text, std::move(text), line});
  }

  bool raw_start(size_t body) const {
    size_t k = body;
    while (k < s_.size() && std::isspace(static_cast<unsigned char>(s_[k]))) ++k;
    if (s_.compare(k, 3, "raw") != 0) return false;
    k += 3;
    while (k < s_.size() && std::isspace(static_cast<unsigned char>(s_[k]))) ++k;
    return s_.compare(k, 2, "%}") == 0 || s_.compare(k, 3, "-%}") == 0 || s_.compare(k, 3, "+%}") == 0;
  }

  // {% raw %} ... {% endraw %}: the body is text, verbatim.
  size_t lex_raw(size_t body, bool* strip_next, bool* trim_newline) {
    size_t close = s_.find("%}", body);
    const bool strip_after_open = s_[close - 1] == '-';
    size_t p = close + 2;
    size_t search = p;
    while (true) {
      const size_t end_open = s_.find("{%", search);
      if (end_open == std::string::npos) throw TemplateError("unclosed {% raw %} block", line_);
      size_t k = end_open + 2;
      const bool strip_before_end = k < s_.size() && s_[k] == '-';
      if (k < s_.size() && (s_[k] == '-' || s_[k] == '+')) ++k;
      while (k < s_.size() && std::isspace(static_cast<unsigned char>(s_[k]))) ++k;
      if (s_.compare(k, 6, "endraw") == 0) {
        k += 6;
        while (k < s_.size() && std::isspace(static_cast<unsigned char>(s_[k]))) ++k;
        const bool strip_after = k < s_.size() && s_[k] == '-';
        if (strip_after || (k < s_.size() && s_[k] == '+')) ++k;
        if (s_.compare(k, 2, "%}") != 0) throw TemplateError("malformed {% endraw %}", line_);
        std::string text = s_.substr(p, end_open - p);
        if (strip_after_open) {
          size_t j = 0, len;
          while (j < text.size() && is_ws_at(text, j, &len)) j += len;
          text.erase(0, j);
        } else if (!text.empty() && text[0] == '\n') {
          text.erase(0, 1);  // trim_blocks after {% raw %}
        }
        if (strip_before_end) rstrip_ws(text);
        emit_text(std::move(text), line_);
        line_ = line_at(s_, k + 2, body, line_);
        *strip_next = strip_after;
        *trim_newline = !strip_after;
        return k + 2;
      }
      search = end_open + 2;
    }
  }

  size_t lex_expression(size_t p, char closer, bool* strip_next, bool* trim_newline) {
    int depth = 0;  // open brackets: "}}" inside {{ {'a': {}} }} does not end the tag
    while (true) {
      while (p < s_.size() && std::isspace(static_cast<unsigned char>(s_[p]))) {
        line_ += s_[p] == '\n';
        ++p;
      }
      if (p >= s_.size()) throw TemplateError(closer == '%' ? "unclosed block tag" : "unclosed expression tag", line_);
      // The closing delimiter, with its optional modifier.
      for (const char* mod : {"-", "+", ""}) {
        if (depth > 0) break;
        std::string close = std::string(mod) + closer + "}";
        if (s_.compare(p, close.size(), close) == 0) {
          *strip_next = mod[0] == '-';
          *trim_newline = closer == '%' && mod[0] == '\0';
          out_.push_back({Token::Kind::End, "", line_});
          return p + close.size();
        }
      }
      const char c = s_[p];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t q = p;
        while (q < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[q])) || s_[q] == '_')) ++q;
        out_.push_back({Token::Kind::Name, s_.substr(p, q - p), line_});
        p = q;
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t q = p;
        bool is_float = false;
        while (q < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[q])) || s_[q] == '_')) ++q;
        if (q + 1 < s_.size() && s_[q] == '.' && std::isdigit(static_cast<unsigned char>(s_[q + 1]))) {
          is_float = true;
          ++q;
          while (q < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[q])) || s_[q] == '_')) ++q;
        }
        if (q < s_.size() && (s_[q] == 'e' || s_[q] == 'E')) {
          size_t e = q + 1;
          if (e < s_.size() && (s_[e] == '+' || s_[e] == '-')) ++e;
          if (e < s_.size() && std::isdigit(static_cast<unsigned char>(s_[e]))) {
            is_float = true;
            q = e;
            while (q < s_.size() && std::isdigit(static_cast<unsigned char>(s_[q]))) ++q;
          }
        }
        std::string num = s_.substr(p, q - p);
        num.erase(std::remove(num.begin(), num.end(), '_'), num.end());
        Token t{Token::Kind::Number, num, line_};
        t.is_float = is_float;
        out_.push_back(t);
        p = q;
        continue;
      }
      if (c == '\'' || c == '"') {
        p = lex_string(p);
        continue;
      }
      static const char* ops[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")",
                                  "[",  "]",  "{",  "}",  ",",  ".",  ":", "|", "="};
      bool matched = false;
      for (const char* op : ops) {
        const size_t n = std::strlen(op);
        if (s_.compare(p, n, op) == 0) {
          if (n == 1 && (*op == '(' || *op == '[' || *op == '{')) ++depth;
          if (n == 1 && (*op == ')' || *op == ']' || *op == '}')) depth = depth > 0 ? depth - 1 : 0;
          out_.push_back({Token::Kind::Operator, op, line_});
          p += n;
          matched = true;
          break;
        }
      }
      if (!matched) throw TemplateError(std::string("unexpected character '") + c + "'", line_);
    }
  }

  // A quoted string literal with Python escapes.
  size_t lex_string(size_t p) {
    const char quote = s_[p];
    std::string out;
    const int start_line = line_;
    size_t q = p + 1;
    while (true) {
      if (q >= s_.size()) throw TemplateError("unterminated string literal", start_line);
      const char c = s_[q];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        out += c;
        ++q;
        continue;
      }
      if (q + 1 >= s_.size()) throw TemplateError("unterminated string literal", start_line);
      const char e = s_[q + 1];
      q += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '0': out += '\0'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': ++line_; break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (q + n > s_.size()) throw TemplateError("truncated escape in string literal", line_);
          const std::string hex = s_.substr(q, n);
          for (char h : hex) {
            if (!std::isxdigit(static_cast<unsigned char>(h))) throw TemplateError("invalid escape in string literal", line_);
          }
          out += py::to_utf8(std::u32string(1, static_cast<char32_t>(std::stoul(hex, nullptr, 16))));
          q += n;
          break;
        }
        default:
          out += '\\';  // unknown escapes stay as they are, as in Python
          out += e;
      }
    }
    out_.push_back({Token::Kind::String, out, start_line});
    return q + 1;
  }

  const std::string& s_;
  std::vector<Token> out_;
  int line_ = 1;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source) {
  // Jinja2 turns \r\n and \r into \n and, without keep_trailing_newline, drops one final newline.
  std::string normalized;
  normalized.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      normalized += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      normalized += source[i];
    }
  }
  if (!normalized.empty() && normalized.back() == '\n') normalized.pop_back();
  return Lexer(normalized).run();
}

}  // namespace qwenrt::chat
