#pragma once
// Parses the token stream of a template into statements (Jinja2's grammar and precedence:
// conditional < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary - + <
// filters, tests and postfix access).
#include "chat/ast.h"
#include "chat/lexer.h"

namespace qwenrt::chat {

Body parse_template(const std::vector<Token>& tokens);

}  // namespace qwenrt::chat
