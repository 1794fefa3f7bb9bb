#include "chat/parser.h"

#include "chat/template_error.h"

#include <cerrno>
#include <cstdlib>
#include <initializer_list>

namespace qwenrt::chat {
namespace {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  Body parse_all() {
    Body body = parse_body({});
    if (pos_ < t_.size()) fail_here("unexpected '" + peek_keyword() + "' tag");
    return body;
  }

 private:
  // ---- token helpers ----
  const Token& cur() const {
    static const Token end{Token::Kind::End, "", 0};
    return pos_ < t_.size() ? t_[pos_] : end;
  }
  int line() const { return pos_ < t_.size() ? t_[pos_].line : (t_.empty() ? 1 : t_.back().line); }
  [[noreturn]] void fail_here(const std::string& why) const { throw TemplateError(why, line()); }
  bool is_op(const char* op) const { return cur().kind == Token::Kind::Operator && cur().text == op; }
  bool is_name(const char* n) const { return cur().kind == Token::Kind::Name && cur().text == n; }
  bool accept_op(const char* op) {
    if (!is_op(op)) return false;
    ++pos_;
    return true;
  }
  bool accept_name(const char* n) {
    if (!is_name(n)) return false;
    ++pos_;
    return true;
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail_here(std::string("expected '") + op + "', found " + describe());
  }
  std::string expect_name() {
    if (cur().kind != Token::Kind::Name) fail_here("expected a name, found " + describe());
    return t_[pos_++].text;
  }
  void expect_end() {
    if (cur().kind != Token::Kind::End) fail_here("expected the end of the tag, found " + describe());
    ++pos_;
  }
  std::string describe() const {
    switch (cur().kind) {
      case Token::Kind::End:
        return "the end of the tag";
      case Token::Kind::String:
        return "a string";
      case Token::Kind::Number:
        return "'" + cur().text + "'";
      default:
        return "'" + cur().text + "'";
    }
  }
  // At a Statement token: its keyword.
  std::string peek_keyword() const {
    if (pos_ < t_.size() && t_[pos_].kind == Token::Kind::Statement && pos_ + 1 < t_.size()) return t_[pos_ + 1].text;
    return "";
  }

  // ---- statements ----
  // Parses until one of `ends` (a block keyword) is the next statement; does not consume it.
  Body parse_body(std::initializer_list<const char*> ends) {
    const NestingGuard guard(this);
    Body body;
    while (pos_ < t_.size()) {
      const Token& tok = t_[pos_];
      if (tok.kind == Token::Kind::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Text;
        s->line = tok.line;
        s->text = tok.text;
        body.push_back(std::move(s));
        ++pos_;
        continue;
      }
      if (tok.kind == Token::Kind::Print) {
        ++pos_;
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Print;
        s->line = tok.line;
        s->expr = parse_tuple(true);
        expect_end();
        body.push_back(std::move(s));
        continue;
      }
      if (tok.kind != Token::Kind::Statement) fail_here("unexpected token " + describe());
      const std::string kw = peek_keyword();
      for (const char* e : ends) {
        if (kw == e) return body;
      }
      ++pos_;  // the Statement marker
      body.push_back(parse_statement());
    }
    if (ends.size()) {
      std::string want;
      for (const char* e : ends) want += std::string(want.empty() ? "" : " or ") + "'" + e + "'";
      fail_here("missing " + want + " (the template ended inside a block)");
    }
    return body;
  }

  // Consumes "{% name %}" for a block end keyword.
  void close_tag(const char* kw) {
    ++pos_;  // Statement
    if (!accept_name(kw)) fail_here(std::string("expected '") + kw + "'");
    expect_end();
  }

  StmtPtr parse_statement() {
    const int ln = line();
    const std::string kw = expect_name();
    auto s = std::make_unique<Stmt>();
    s->line = ln;
    if (kw == "if") {
      s->kind = Stmt::Kind::If;
      ExprPtr cond = parse_tuple(true);
      expect_end();
      Body body = parse_body({"elif", "else", "endif"});
      s->branches.emplace_back(std::move(cond), std::move(body));
      while (true) {
        const std::string next = peek_keyword();
        ++pos_;
        ++pos_;  // Statement + keyword
        if (next == "elif") {
          ExprPtr c = parse_tuple(true);
          expect_end();
          Body b = parse_body({"elif", "else", "endif"});
          s->branches.emplace_back(std::move(c), std::move(b));
        } else if (next == "else") {
          expect_end();
          s->else_body = parse_body({"endif"});
          close_tag("endif");
          break;
        } else {
          expect_end();
          break;
        }
      }
      return s;
    }
    if (kw == "for") {
      s->kind = Stmt::Kind::For;
      s->targets = parse_targets();
      if (!accept_name("in")) fail_here("expected 'in' in the for loop");
      s->expr = parse_tuple(false);
      if (accept_name("if")) s->filter = parse_expression(false);
      if (accept_name("recursive")) s->recursive = true;
      expect_end();
      ++loop_depth_;
      s->body = parse_body({"else", "endfor"});
      --loop_depth_;
      if (peek_keyword() == "else") {
        pos_ += 2;
        expect_end();
        s->else_body = parse_body({"endfor"});
      }
      close_tag("endfor");
      return s;
    }
    if (kw == "set") {
      if (is_op("(")) {
        s->kind = Stmt::Kind::Set;
        s->targets = parse_targets();
        expect_op("=");
        s->expr = parse_tuple(true);
        expect_end();
        return s;
      }
      const std::string first = expect_name();
      if (accept_op(".")) {
        s->kind = Stmt::Kind::Set;
        s->targets.push_back(first);
        s->attribute = expect_name();
        expect_op("=");
        s->expr = parse_tuple(true);
        expect_end();
        return s;
      }
      s->targets.push_back(first);
      while (accept_op(",")) s->targets.push_back(expect_name());
      if (accept_op("=")) {
        s->kind = Stmt::Kind::Set;
        s->expr = parse_tuple(true);
        expect_end();
        return s;
      }
      if (s->targets.size() != 1) fail_here("a block set takes one name");
      s->kind = Stmt::Kind::SetBlock;
      s->name = first;
      if (accept_op("|")) s->filter = parse_filter_chain(nullptr);
      expect_end();
      s->body = parse_body({"endset"});
      close_tag("endset");
      return s;
    }
    if (kw == "macro") {
      s->kind = Stmt::Kind::Macro;
      s->name = expect_name();
      expect_op("(");
      if (!accept_op(")")) {
        do {
          MacroParam p;
          p.name = expect_name();
          if (accept_op("=")) p.default_value = parse_expression(true);
          s->params.push_back(std::move(p));
        } while (accept_op(","));
        expect_op(")");
      }
      expect_end();
      const int saved_depth = loop_depth_;
      loop_depth_ = 0;  // a macro body is not inside the loop it is defined in
      s->body = parse_body({"endmacro"});
      loop_depth_ = saved_depth;
      close_tag("endmacro");
      return s;
    }
    if (kw == "break" || kw == "continue") {
      if (loop_depth_ == 0) throw TemplateError("'" + kw + "' outside a loop", ln);
      s->kind = kw == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expect_end();
      return s;
    }
    if (kw == "filter") {
      s->kind = Stmt::Kind::FilterBlock;
      s->filter = parse_filter_chain(nullptr);
      expect_end();
      s->body = parse_body({"endfilter"});
      close_tag("endfilter");
      return s;
    }
    if (kw == "generation") {
      s->kind = Stmt::Kind::Generation;
      expect_end();
      s->body = parse_body({"endgeneration"});
      close_tag("endgeneration");
      return s;
    }
    static const char* kEnds[] = {"endif", "endfor", "endmacro", "endset", "endfilter", "endgeneration", "elif", "else"};
    for (const char* e : kEnds) {
      if (kw == e) throw TemplateError("unexpected '" + kw + "' tag", ln);
    }
    throw TemplateError("unknown or unsupported tag '" + kw + "'", ln);
  }

  // Assignment targets: `a`, `a, b` or `(a, b)`.
  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    const bool paren = accept_op("(");
    do {
      names.push_back(expect_name());
    } while (accept_op(",") && !is_op(")"));
    if (paren) expect_op(")");
    return names;
  }

  // ---- expressions ----
  static ExprPtr node(Expr::Kind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  // An expression, or several separated by commas (a tuple).
  ExprPtr parse_tuple(bool with_condexpr) {
    const int ln = line();
    ExprPtr first = parse_expression(with_condexpr);
    if (!is_op(",")) return first;
    auto t = node(Expr::Kind::Tuple, ln);
    t->items.push_back(std::move(first));
    while (accept_op(",")) {
      if (cur().kind == Token::Kind::End || is_name("in") || is_op("=") || is_op(")")) break;
      t->items.push_back(parse_expression(with_condexpr));
    }
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr = true) {
    const NestingGuard guard(this);
    ExprPtr e = parse_or();
    if (!with_condexpr) return e;
    while (is_name("if")) {
      const int ln = line();
      ++pos_;
      auto c = node(Expr::Kind::Conditional, ln);
      c->a = std::move(e);         // value when true
      c->b = parse_or();           // condition
      if (accept_name("else")) c->c = parse_expression(true);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const int ln = line();
      ++pos_;
      auto n = node(Expr::Kind::Or, ln);
      n->a = std::move(left);
      n->b = parse_and();
      left = std::move(n);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const int ln = line();
      ++pos_;
      auto n = node(Expr::Kind::And, ln);
      n->a = std::move(left);
      n->b = parse_not();
      left = std::move(n);
    }
    return left;
  }

  ExprPtr parse_not() {
    const NestingGuard guard(this);
    if (is_name("not")) {
      const int ln = line();
      ++pos_;
      auto n = node(Expr::Kind::Unary, ln);
      n->name = "not";
      n->a = parse_not();
      return n;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr left = parse_math1();
    while (true) {
      const int ln = line();
      std::string op;
      if (is_op("==") || is_op("!=") || is_op("<") || is_op("<=") || is_op(">") || is_op(">=")) {
        op = t_[pos_++].text;
      } else if (is_name("in")) {
        ++pos_;
        op = "in";
      } else if (is_name("not") && pos_ + 1 < t_.size() && t_[pos_ + 1].kind == Token::Kind::Name && t_[pos_ + 1].text == "in") {
        pos_ += 2;
        op = "not in";
      } else {
        return left;
      }
      auto n = node(Expr::Kind::Binary, ln);
      n->name = op;
      n->a = std::move(left);
      n->b = parse_math1();
      left = std::move(n);
    }
  }

  ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b, int ln) {
    auto n = node(Expr::Kind::Binary, ln);
    n->name = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const int ln = line();
      const std::string op = t_[pos_++].text;
      left = binary(op, std::move(left), parse_concat(), ln);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const int ln = line();
      ++pos_;
      left = binary("~", std::move(left), parse_math2(), ln);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const int ln = line();
      const std::string op = t_[pos_++].text;
      left = binary(op, std::move(left), parse_pow(), ln);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const int ln = line();
      ++pos_;
      left = binary("**", std::move(left), parse_unary(true), ln);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    const NestingGuard guard(this);
    const int ln = line();
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const std::string op = t_[pos_++].text;
      e = node(Expr::Kind::Unary, ln);
      e->name = op;
      e->a = parse_unary(false);
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const int ln = line();
    const Token& tok = cur();
    if (tok.kind == Token::Kind::Name) {
      ++pos_;
      auto lit = [&](Value v) {
        auto e = node(Expr::Kind::Literal, ln);
        e->value = std::move(v);
        return e;
      };
      if (tok.text == "true" || tok.text == "True") return lit(Value::boolean(true));
      if (tok.text == "false" || tok.text == "False") return lit(Value::boolean(false));
      if (tok.text == "none" || tok.text == "None") return lit(Value::none());
      auto e = node(Expr::Kind::Name, ln);
      e->name = tok.text;
      return e;
    }
    if (tok.kind == Token::Kind::String) {
      std::string s;
      while (cur().kind == Token::Kind::String) s += t_[pos_++].text;  // adjacent literals concatenate
      auto e = node(Expr::Kind::Literal, ln);
      e->value = Value::string(std::move(s));
      return e;
    }
    if (tok.kind == Token::Kind::Number) {
      ++pos_;
      auto e = node(Expr::Kind::Literal, ln);
      if (tok.is_float) {
        e->value = Value::real(std::strtod(tok.text.c_str(), nullptr));
      } else {
        errno = 0;
        const long long v = std::strtoll(tok.text.c_str(), nullptr, 10);
        if (errno == ERANGE) {
          e->value = Value::integer(0);
          e->value.s = tok.text;  // exact big integer
        } else {
          e->value = Value::integer(v);
        }
      }
      return e;
    }
    if (accept_op("(")) {
      if (accept_op(")")) {
        auto t = node(Expr::Kind::Tuple, ln);
        return t;
      }
      ExprPtr inner = parse_expression(true);
      if (is_op(",")) {
        auto t = node(Expr::Kind::Tuple, ln);
        t->items.push_back(std::move(inner));
        while (accept_op(",")) {
          if (is_op(")")) break;
          t->items.push_back(parse_expression(true));
        }
        expect_op(")");
        return t;
      }
      expect_op(")");
      return inner;
    }
    if (accept_op("[")) {
      auto l = node(Expr::Kind::List, ln);
      while (!is_op("]")) {
        l->items.push_back(parse_expression(true));
        if (!accept_op(",")) break;
      }
      expect_op("]");
      return l;
    }
    if (accept_op("{")) {
      auto d = node(Expr::Kind::Dict, ln);
      while (!is_op("}")) {
        ExprPtr k = parse_expression(true);
        expect_op(":");
        ExprPtr v = parse_expression(true);
        d->pairs.emplace_back(std::move(k), std::move(v));
        if (!accept_op(",")) break;
      }
      expect_op("}");
      return d;
    }
    fail_here("expected an expression, found " + describe());
  }

  void parse_call_args(Expr& e) {
    // After "(": positional arguments, then name=value ones, up to ")".
    while (!is_op(")")) {
      if (cur().kind == Token::Kind::Name && pos_ + 1 < t_.size() && t_[pos_ + 1].kind == Token::Kind::Operator &&
          t_[pos_ + 1].text == "=") {
        const std::string name = t_[pos_].text;
        pos_ += 2;
        e.kwargs.emplace_back(name, parse_expression(true));
      } else {
        if (!e.kwargs.empty()) fail_here("positional argument after a keyword argument");
        e.items.push_back(parse_expression(true));
      }
      if (!accept_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      const int ln = line();
      if (accept_op(".")) {
        auto a = node(Expr::Kind::Attribute, ln);
        a->object = std::move(e);
        if (cur().kind == Token::Kind::Number) {
          a->kind = Expr::Kind::Subscript;  // x.0 is x[0]
          auto idx = node(Expr::Kind::Literal, ln);
          idx->value = Value::integer(std::stoll(t_[pos_++].text));
          a->a = std::move(idx);
        } else {
          a->name = expect_name();
        }
        e = std::move(a);
      } else if (accept_op("[")) {
        e = parse_subscript(std::move(e), ln);
      } else if (accept_op("(")) {
        auto c = node(Expr::Kind::Call, ln);
        c->object = std::move(e);
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object, int ln) {
    ExprPtr parts[3];
    int colons = 0;
    while (true) {
      if (is_op(":")) {
        ++pos_;
        if (++colons > 2) fail_here("too many ':' in a slice");
        continue;
      }
      if (is_op("]")) break;
      if (parts[colons]) fail_here("expected ':' or ']'");
      parts[colons] = parse_expression(true);
    }
    expect_op("]");
    if (colons == 0) {
      if (!parts[0]) fail_here("empty subscript");
      auto s = node(Expr::Kind::Subscript, ln);
      s->object = std::move(object);
      s->a = std::move(parts[0]);
      return s;
    }
    auto s = node(Expr::Kind::Slice, ln);
    s->object = std::move(object);
    s->a = std::move(parts[0]);
    s->b = std::move(parts[1]);
    s->c = std::move(parts[2]);
    return s;
  }

  // name[(args)] after a "|"; `base` is the filtered expression (null in {% filter %} tags).
  ExprPtr parse_filter_chain(ExprPtr base) {
    const int ln = line();
    auto f = node(Expr::Kind::Filter, ln);
    f->object = std::move(base);
    f->name = expect_name();
    while (accept_op(".")) f->name += "." + expect_name();
    if (accept_op("(")) parse_call_args(*f);
    return f;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      const int ln = line();
      if (accept_op("|")) {
        e = parse_filter_chain(std::move(e));
      } else if (is_name("is")) {
        ++pos_;
        auto t = node(Expr::Kind::Test, ln);
        t->object = std::move(e);
        if (accept_name("not")) t->negated = true;
        t->name = expect_name();
        if (accept_op("(")) {
          parse_call_args(*t);
        } else if ((cur().kind == Token::Kind::Name || cur().kind == Token::Kind::String || cur().kind == Token::Kind::Number ||
                    is_op("(") || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail_here("tests cannot be chained with 'is'");
          t->items.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (accept_op("(")) {
        auto c = node(Expr::Kind::Call, ln);
        c->object = std::move(e);
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  const std::vector<Token>& t_;
  size_t pos_ = 0;
  int loop_depth_ = 0;  // for loops open around the current statement (break / continue need one)
  int nesting_ = 0;     // recursion depth: bounded so that a hostile template cannot exhaust the stack

  struct NestingGuard {
    static constexpr int kMax = 400;
    Parser* p;
    explicit NestingGuard(Parser* parser) : p(parser) {
      if (++p->nesting_ > kMax) throw TemplateError("the template nests blocks or expressions too deeply", p->line());
    }
    ~NestingGuard() { --p->nesting_; }
  };
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens) { return Parser(tokens).parse_all(); }

}  // namespace qwenrt::chat
