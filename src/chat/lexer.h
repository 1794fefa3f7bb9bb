#pragma once
// Splits template source into text and tags with Jinja2's whitespace rules as Hugging Face
// configures them (trim_blocks and lstrip_blocks on): `-` on a tag strips all whitespace on that
// side, `+` keeps it; a block or comment tag drops the newline right after it; spaces and tabs
// before a block or comment tag that starts its line are dropped. Inside tags, expressions are
// tokenized into names, numbers, strings and operators.
#include <string>
#include <vector>

namespace qwenrt::chat {

struct Token {
  enum class Kind { Text, Print, Statement, Name, Number, String, Operator, End };
  Kind kind;
  std::string text;  // Text: the text; Print/Statement: nothing (tokens follow); Operator: "==" ...
  int line;
  bool is_float = false;
};

// The whole template as one stream: Text, then Print/Statement followed by the tag's expression
// tokens and an End token, and so on. Comments vanish; {% raw %} bodies become Text.
std::vector<Token> tokenize(const std::string& source);

}  // namespace qwenrt::chat
