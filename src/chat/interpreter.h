#pragma once
// Runs a parsed template. Scoping follows Jinja2: a for loop and a macro body each get their
// own scope (assignments inside do not leak out; namespaces carry state out), if blocks do not;
// macros see the scope they were defined in. Undefined values follow jinja2.Undefined: printing
// gives "", iterating gives nothing, most other uses (attribute access, `in`, arithmetic) raise.
#include "chat/ast.h"
#include "chat/template_error.h"

#include <map>
#include <memory>
#include <string>

namespace qwenrt::chat {

struct Scope {
  std::map<std::string, Value, std::less<>> vars;
  std::shared_ptr<Scope> parent;
  const Value* find(std::string_view name) const;
};

class Interpreter {
 public:
  struct Limits {
    int max_depth = 200;             // nested macro calls / filter evaluations
    int64_t max_iterations = 10'000'000;
    size_t max_output = size_t{256} << 20;
  };

  explicit Interpreter(const Body& program) : program_(program) {}
  Interpreter(const Body& program, Limits limits) : program_(program), limits_(limits) {}
  // Renders with the given top-level variables.
  std::string render(const std::map<std::string, Value, std::less<>>& variables);

  // For builtins: the line being evaluated, errors, calling back into templates.
  int line() const { return line_; }
  [[noreturn]] void fail(const std::string& message) const { throw TemplateError(message, line_); }
  Value call(const Value& callee, CallArgs& args);
  Value apply_filter(const std::string& name, const Value& input, CallArgs& args);
  bool apply_test(const std::string& name, const Value& input, CallArgs& args);
  Value get_attribute(const Value& object, const std::string& name);
  Value get_item(const Value& object, const Value& key);
  std::vector<Value> iterate(const Value& v);  // Python iteration (dict: keys; str: characters)
  std::vector<Value> unpack(const Value& v, size_t n);  // `a, b = v`: exactly n items

 private:
  enum class Flow { Normal, Break, Continue };
  Flow exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out);
  Flow exec_stmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
  void exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
  Value eval(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value eval_binary(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope);
  CallArgs eval_args(const Expr& e, const std::shared_ptr<Scope>& scope);
  void append(std::string& out, const std::string& text);

  const Body& program_;
  Limits limits_{};
  int line_ = 0;
  int depth_ = 0;
  int64_t iterations_ = 0;
};

// The builtin filters and tests, and methods of str / dict / list values (builtins.cpp).
Value builtin_filter(Interpreter& in, const std::string& name, const Value& input, CallArgs& args, bool* found);
bool builtin_test(Interpreter& in, const std::string& name, const Value& input, CallArgs& args, bool* found);
Value bound_method(Interpreter& in, const Value& object, const std::string& name);  // undefined when none
void add_builtin_globals(Scope& globals);
// Python's printf-style `fmt % args` (%s %r %d %i %f %e %g with flags, width and precision).
std::string percent_format(Interpreter& in, const std::string& fmt_str, const Value& args);

}  // namespace qwenrt::chat
