#include "chat/interpreter.h"

#include "chat/python_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace qwenrt::chat {

const Value* Scope::find(std::string_view name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

namespace {

// Raised by undefined values when used (jinja2.exceptions.UndefinedError).
[[noreturn]] void undefined_error(const Interpreter& in, const Value& v, const std::string& fallback) {
  in.fail(!v.s.empty() ? v.s : fallback);
}

std::string describe_for_error(const Value& v) { return std::string(v.type_name()) + " object"; }


}  // namespace

void Interpreter::append(std::string& out, const std::string& text) {
  if (out.size() + text.size() > limits_.max_output) fail("the rendered output exceeds the size limit");
  out += text;
}

std::string Interpreter::render(const std::map<std::string, Value, std::less<>>& variables) {
  auto globals = std::make_shared<Scope>();
  add_builtin_globals(*globals);
  auto top = std::make_shared<Scope>();
  top->parent = globals;
  for (const auto& [k, v] : variables) top->vars[k] = v;
  std::string out;
  exec(program_, top, out);
  return out;
}

Interpreter::Flow Interpreter::exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
  for (const auto& s : body) {
    const Flow f = exec_stmt(*s, scope, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out) {
  line_ = s.line;
  switch (s.kind) {
    case Stmt::Kind::Text:
      append(out, s.text);
      return Flow::Normal;
    case Stmt::Kind::Print: {
      const Value v = eval(*s.expr, scope);
      append(out, to_str(v));
      return Flow::Normal;
    }
    case Stmt::Kind::If:
      for (const auto& [cond, body] : s.branches) {
        if (eval(*cond, scope).truthy()) return exec(body, scope, out);
        line_ = s.line;
      }
      return exec(s.else_body, scope, out);
    case Stmt::Kind::For:
      exec_for(s, scope, out);
      return Flow::Normal;
    case Stmt::Kind::Set: {
      Value v = eval(*s.expr, scope);
      if (!s.attribute.empty()) {
        const Value* target = scope->find(s.targets[0]);
        if (!target || !target->is_dict() || !target->ns) {
          fail("cannot assign attribute on non-namespace object");
        }
        target->dict->set(Value::string(s.attribute), std::move(v));
        return Flow::Normal;
      }
      if (s.targets.size() == 1) {
        scope->vars[s.targets[0]] = std::move(v);
        return Flow::Normal;
      }
      const std::vector<Value> parts = unpack(v, s.targets.size());
      for (size_t i = 0; i < parts.size(); ++i) scope->vars[s.targets[i]] = parts[i];
      return Flow::Normal;
    }
    case Stmt::Kind::SetBlock: {
      std::string captured;
      exec(s.body, scope, captured);
      Value v = Value::string(std::move(captured));
      if (s.filter) {
        CallArgs args = eval_args(*s.filter, scope);
        v = apply_filter(s.filter->name, v, args);
      }
      scope->vars[s.name] = std::move(v);
      return Flow::Normal;
    }
    case Stmt::Kind::Macro:
      scope->vars[s.name] = make_macro(s, scope);
      return Flow::Normal;
    case Stmt::Kind::Break:
      return Flow::Break;
    case Stmt::Kind::Continue:
      return Flow::Continue;
    case Stmt::Kind::FilterBlock: {
      std::string captured;
      exec(s.body, scope, captured);
      CallArgs args = eval_args(*s.filter, scope);
      append(out, to_str(apply_filter(s.filter->name, Value::string(std::move(captured)), args)));
      return Flow::Normal;
    }
    case Stmt::Kind::Generation:
      return exec(s.body, scope, out);
  }
  return Flow::Normal;
}

void Interpreter::exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out) {
  const Value iterable = eval(*s.expr, scope);
  if (iterable.is_undefined()) {
    // Iterating an undefined value yields nothing (jinja2.Undefined.__iter__).
  }
  std::vector<Value> items = iterate(iterable);
  auto loop_scope = std::make_shared<Scope>();
  loop_scope->parent = scope;
  auto bind = [&](const Value& item) {
    if (s.targets.size() == 1) {
      loop_scope->vars[s.targets[0]] = item;
      return;
    }
    const std::vector<Value> parts = unpack(item, s.targets.size());
    for (size_t i = 0; i < parts.size(); ++i) loop_scope->vars[s.targets[i]] = parts[i];
  };
  // The loop filter ("for x in xs if cond") runs first: loop.index and length count what passes.
  if (s.filter) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      bind(item);
      if (eval(*s.filter, loop_scope).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(s.else_body, scope, out);
    return;
  }
  const auto n = static_cast<int64_t>(items.size());
  // One loop object per loop, updated in place each iteration (cheap for long loops).
  Value loop = Value::make_dict();
  loop.ns = true;  // attribute access only, like jinja2's LoopContext
  auto position = std::make_shared<int64_t>(0);
  for (const char* k : {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0", "previtem", "nextitem"}) {
    loop.dict->items.emplace_back(Value::string(k), Value());
  }
  loop.dict->items.emplace_back(Value::string("cycle"), Value::function("cycle", [position](Interpreter& in, CallArgs& a) {
    if (a.positional.empty()) in.fail("no items for cycling given");
    return a.positional[static_cast<size_t>(*position) % a.positional.size()];
  }));
  loop_scope->vars["loop"] = loop;
  for (int64_t i = 0; i < n; ++i) {
    if (++iterations_ > limits_.max_iterations) fail("too many loop iterations");
    auto& fields = loop.dict->items;  // re-read: the body may have added attributes
    bind(items[static_cast<size_t>(i)]);
    *position = i;
    fields[0].second = Value::integer(i + 1);
    fields[1].second = Value::integer(i);
    fields[2].second = Value::integer(n - i);
    fields[3].second = Value::integer(n - i - 1);
    fields[4].second = Value::boolean(i == 0);
    fields[5].second = Value::boolean(i == n - 1);
    fields[6].second = Value::integer(n);
    fields[7].second = Value::integer(1);
    fields[8].second = Value::integer(0);
    fields[9].second = i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item");
    fields[10].second = i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item");
    const Flow f = exec(s.body, loop_scope, out);
    if (f == Flow::Break) break;
  }
}

Value Interpreter::make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  const Stmt* def = &s;
  std::weak_ptr<Scope> weak = scope;  // the defining scope holds the macro: avoid a cycle
  return Value::function(s.name, [def, weak](Interpreter& in, CallArgs& args) {
    auto closure = weak.lock();
    auto local = std::make_shared<Scope>();
    local->parent = closure;
    if (args.positional.size() > def->params.size()) {
      in.fail(fmt::format("macro '{}' takes {} arguments, {} given", def->name, def->params.size(), args.positional.size()));
    }
    for (size_t i = 0; i < def->params.size(); ++i) {
      const MacroParam& p = def->params[i];
      if (i < args.positional.size()) {
        local->vars[p.name] = args.positional[i];
      } else if (auto it = std::find_if(args.keyword.begin(), args.keyword.end(), [&](const auto& kv) { return kv.first == p.name; });
                 it != args.keyword.end()) {
        local->vars[p.name] = it->second;
      } else if (p.default_value) {
        local->vars[p.name] = in.eval(*p.default_value, local);
      } else {
        local->vars[p.name] = Value::undefined(fmt::format("'{}' is undefined", p.name));
      }
    }
    for (const auto& [k, v] : args.keyword) {
      if (std::none_of(def->params.begin(), def->params.end(), [&](const MacroParam& p) { return p.name == k; })) {
        in.fail(fmt::format("macro '{}' takes no keyword argument '{}'", def->name, k));
      }
    }
    if (++in.depth_ > in.limits_.max_depth) in.fail("macro calls are nested too deeply");
    std::string out;
    const int saved_line = in.line_;
    in.exec(def->body, local, out);
    in.line_ = saved_line;
    --in.depth_;
    return Value::string(std::move(out));
  });
}

CallArgs Interpreter::eval_args(const Expr& e, const std::shared_ptr<Scope>& scope) {
  CallArgs args;
  for (const auto& a : e.items) args.positional.push_back(eval(*a, scope));
  for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
  return args;
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) undefined_error(*this, callee, "'undefined' is not callable");
  if (callee.type != Value::Type::Callable) fail(fmt::format("'{}' object is not callable", callee.type_name()));
  return callee.fn->call(*this, args);
}

Value Interpreter::apply_filter(const std::string& name, const Value& input, CallArgs& args) {
  bool found = false;
  if (++depth_ > limits_.max_depth) fail("expressions are nested too deeply");
  Value v = builtin_filter(*this, name, input, args, &found);
  --depth_;
  if (!found) fail(fmt::format("No filter named '{}'.", name));
  return v;
}

bool Interpreter::apply_test(const std::string& name, const Value& input, CallArgs& args) {
  bool found = false;
  const bool r = builtin_test(*this, name, input, args, &found);
  if (!found) fail(fmt::format("No test named '{}'.", name));
  return r;
}

std::vector<Value> Interpreter::unpack(const Value& v, size_t n) {
  if (!v.is_list() && !v.is_dict() && !v.is_string()) fail(fmt::format("cannot unpack non-iterable {} object", v.type_name()));
  std::vector<Value> parts = iterate(v);
  if (parts.size() > n) fail(fmt::format("too many values to unpack (expected {})", n));
  if (parts.size() < n) fail(fmt::format("not enough values to unpack (expected {}, got {})", n, parts.size()));
  return parts;
}

std::vector<Value> Interpreter::iterate(const Value& v) {
  switch (v.type) {
    case Value::Type::Undefined:
      return {};
    case Value::Type::List:
      return *v.list;
    case Value::Type::Dict: {
      std::vector<Value> keys;
      for (const auto& [k, val] : v.dict->items) keys.push_back(k);
      return keys;
    }
    case Value::Type::String: {
      std::vector<Value> chars;
      for (char32_t c : py::to_u32(v.s)) chars.push_back(Value::string(py::to_utf8(std::u32string(1, c))));
      return chars;
    }
    default:
      fail(fmt::format("'{}' object is not iterable", v.type_name()));
  }
}

Value Interpreter::get_attribute(const Value& object, const std::string& name) {
  // jinja2's getattr: the attribute first (str/dict/list methods), then the item.
  if (object.is_undefined()) undefined_error(*this, object, "undefined value has no attribute '" + name + "'");
  if (object.is_dict()) {
    if (!object.ns) {
      Value m = bound_method(*this, object, name);
      if (!m.is_undefined() || !m.s.empty()) return m;
    }
    if (const Value* v = object.dict->find(std::string_view(name))) return *v;
    return Value::undefined(fmt::format("'{}' has no attribute '{}'", object.ns ? "namespace" : "dict object", name));
  }
  Value m = bound_method(*this, object, name);
  if (!m.is_undefined() || !m.s.empty()) return m;  // a method, or the sandbox's refusal
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", describe_for_error(object), name));
}

Value Interpreter::get_item(const Value& object, const Value& key) {
  // jinja2's getitem: the item first, then the attribute.
  if (object.is_undefined()) undefined_error(*this, object, "undefined value has no item");
  if (object.is_dict()) {
    if (Value* v = object.dict->find(key)) return *v;
    if (key.is_string() && !object.ns) {
      Value m = bound_method(*this, object, key.s);
      if (!m.is_undefined()) return m;
    }
    return Value::undefined(fmt::format("'dict object' has no attribute '{}'", to_str(key)));
  }
  if ((object.is_list() || object.is_string()) && (key.is_int() || key.type == Value::Type::Bool)) {
    int64_t i = key.type == Value::Type::Bool ? key.b : key.i;
    if (object.is_list()) {
      const auto n = static_cast<int64_t>(object.list->size());
      if (i < 0) i += n;
      if (key.is_big_int() || i < 0 || i >= n) {
        return Value::undefined(fmt::format("{} object has no element {}", object.tuple ? "tuple" : "list", to_str(key)));
      }
      return (*object.list)[static_cast<size_t>(i)];
    }
    const std::u32string u = py::to_u32(object.s);
    const auto n = static_cast<int64_t>(u.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined(fmt::format("str object has no element {}", to_str(key)));
    return Value::string(py::to_utf8(std::u32string(1, u[static_cast<size_t>(i)])));
  }
  if (key.is_string()) return get_attribute(object, key.s);
  return Value::undefined(fmt::format("'{}' has no item {}", describe_for_error(object), to_repr(key)));
}

namespace {

// Python slice bounds for a sequence of length n.
void slice_bounds(int64_t n, const Value& start, const Value& stop, int64_t step, int64_t* b, int64_t* e) {
  auto clamp = [&](const Value& v, int64_t dflt, bool is_stop) {
    if (v.is_undefined() || v.is_none()) return dflt;
    int64_t x = v.i;
    if (x < 0) x += n;
    if (step > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  if (step > 0) {
    *b = clamp(start, 0, false);
    *e = clamp(stop, n, true);
  } else {
    *b = clamp(start, n - 1, false);
    *e = clamp(stop, -1, true);
  }
}

}  // namespace

Value Interpreter::eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  line_ = e.line ? e.line : line_;
  switch (e.kind) {
    case Expr::Kind::Literal:
      return e.value;
    case Expr::Kind::Name: {
      const Value* v = scope->find(e.name);
      return v ? *v : Value::undefined(fmt::format("'{}' is undefined", e.name));
    }
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      List items;
      for (const auto& i : e.items) items.push_back(eval(*i, scope));
      return Value::make_list(std::move(items), e.kind == Expr::Kind::Tuple);
    }
    case Expr::Kind::Dict: {
      Value d = Value::make_dict();
      for (const auto& [k, v] : e.pairs) d.dict->set(eval(*k, scope), eval(*v, scope));
      return d;
    }
    case Expr::Kind::Attribute:
      return get_attribute(eval(*e.object, scope), e.name);
    case Expr::Kind::Subscript: {
      const Value obj = eval(*e.object, scope);
      return get_item(obj, eval(*e.a, scope));
    }
    case Expr::Kind::Slice: {
      const Value obj = eval(*e.object, scope);
      if (obj.is_undefined()) undefined_error(*this, obj, "undefined value cannot be sliced");
      const Value start = e.a ? eval(*e.a, scope) : Value::none();
      const Value stop = e.b ? eval(*e.b, scope) : Value::none();
      const Value stepv = e.c ? eval(*e.c, scope) : Value::none();
      for (const Value* v : {&start, &stop, &stepv}) {
        if (!v->is_none() && !v->is_int()) fail("slice indices must be integers or None");
      }
      const int64_t step = stepv.is_none() ? 1 : stepv.i;
      if (step == 0) fail("slice step cannot be zero");
      if (obj.is_list()) {
        int64_t b, en;
        slice_bounds(static_cast<int64_t>(obj.list->size()), start, stop, step, &b, &en);
        List out;
        for (int64_t i = b; step > 0 ? i < en : i > en; i += step) out.push_back((*obj.list)[static_cast<size_t>(i)]);
        return Value::make_list(std::move(out), obj.tuple);
      }
      if (obj.is_string()) {
        const std::u32string u = py::to_u32(obj.s);
        int64_t b, en;
        slice_bounds(static_cast<int64_t>(u.size()), start, stop, step, &b, &en);
        std::u32string out;
        for (int64_t i = b; step > 0 ? i < en : i > en; i += step) out.push_back(u[static_cast<size_t>(i)]);
        return Value::string(py::to_utf8(out));
      }
      fail(fmt::format("'{}' object is not subscriptable", obj.type_name()));
    }
    case Expr::Kind::Call: {
      const Value callee = eval(*e.object, scope);
      CallArgs args = eval_args(e, scope);
      line_ = e.line;
      return call(callee, args);
    }
    case Expr::Kind::Filter: {
      const Value input = eval(*e.object, scope);
      CallArgs args = eval_args(e, scope);
      line_ = e.line;
      return apply_filter(e.name, input, args);
    }
    case Expr::Kind::Test: {
      const Value input = eval(*e.object, scope);
      CallArgs args = eval_args(e, scope);
      line_ = e.line;
      const bool r = apply_test(e.name, input, args);
      return Value::boolean(e.negated ? !r : r);
    }
    case Expr::Kind::Unary: {
      const Value v = eval(*e.a, scope);
      if (e.name == "not") return Value::boolean(!v.truthy());
      if (v.is_undefined()) undefined_error(*this, v, "undefined value in arithmetic");
      if (v.type == Value::Type::Bool) return Value::integer(e.name == "-" ? -int64_t{v.b} : v.b);
      if (v.is_int() && !v.is_big_int()) return Value::integer(e.name == "-" ? -v.i : v.i);
      if (v.type == Value::Type::Float) return Value::real(e.name == "-" ? -v.f : v.f);
      fail(fmt::format("bad operand type for unary {}: '{}'", e.name, v.type_name()));
    }
    case Expr::Kind::And: {
      Value a = eval(*e.a, scope);
      return a.truthy() ? eval(*e.b, scope) : a;
    }
    case Expr::Kind::Or: {
      Value a = eval(*e.a, scope);
      return a.truthy() ? a : eval(*e.b, scope);
    }
    case Expr::Kind::Conditional:
      if (eval(*e.b, scope).truthy()) return eval(*e.a, scope);
      return e.c ? eval(*e.c, scope) : Value::undefined("the condition was false and there is no else");
    case Expr::Kind::Binary:
      return eval_binary(e, scope);
  }
  return Value::undefined();
}

namespace {

bool is_numeric(const Value& v) { return v.type == Value::Type::Int || v.type == Value::Type::Float || v.type == Value::Type::Bool; }
int64_t int_of(const Value& v) { return v.type == Value::Type::Bool ? v.b : v.i; }

std::string unsupported(const char* op, const Value& a, const Value& b) {
  return fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

}  // namespace

std::string percent_format(Interpreter& in, const std::string& fmt_str, const Value& args) {
  std::vector<Value> values = args.is_list() && args.tuple ? *args.list : std::vector<Value>{args};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    if (fmt_str[i] != '%') {
      out += fmt_str[i];
      continue;
    }
    if (++i >= fmt_str.size()) in.fail("incomplete format");
    if (fmt_str[i] == '%') {
      out += '%';
      continue;
    }
    std::string spec = "%";
    while (i < fmt_str.size() && std::strchr("-+ #0123456789.", fmt_str[i])) spec += fmt_str[i++];
    if (i >= fmt_str.size()) in.fail("incomplete format");
    const char conv = fmt_str[i];
    if (next >= values.size()) in.fail("not enough arguments for format string");
    const Value& v = values[next++];
    if (conv != 's' && conv != 'r' && conv != 'a' && !(conv == 'c' && v.is_string()) && (!is_numeric(v) || v.is_big_int())) {
      in.fail(fmt::format("%{} format: a real number is required, not {}", conv, v.type_name()));
    }
    char buf[512];
    switch (conv) {
      case 's':
      case 'r':
      case 'a': {
        // Flags, width and precision on text: '-' left-justifies, ".N" keeps N code points.
        std::u32string text = py::to_u32(conv == 's' ? to_str(v) : to_repr(v));
        const size_t dot = spec.find('.');
        if (dot != std::string::npos) text = text.substr(0, std::strtoul(spec.c_str() + dot + 1, nullptr, 10));
        const size_t digits = spec.find_first_of("123456789");
        const size_t width = digits != std::string::npos && digits < dot ? std::min<size_t>(std::strtoul(spec.c_str() + digits, nullptr, 10), 4096) : 0;
        const std::string pad(width > text.size() ? width - text.size() : 0, ' ');
        const bool left = spec.find('-') != std::string::npos;
        out += left ? py::to_utf8(text) + pad : pad + py::to_utf8(text);
        break;
      }
      case 'd':
      case 'i':
        std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), static_cast<long long>(v.type == Value::Type::Float ? static_cast<int64_t>(v.f) : int_of(v)));
        out += buf;
        break;
      case 'x':
      case 'X':
      case 'o':
        std::snprintf(buf, sizeof buf, (spec + "ll" + conv).c_str(), static_cast<long long>(int_of(v)));
        out += buf;
        break;
      case 'c':
        out += v.is_string() ? v.s : py::to_utf8(std::u32string(1, static_cast<char32_t>(int_of(v) & 0x1FFFFF)));
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        std::snprintf(buf, sizeof buf, (spec + conv).c_str(), v.as_double());
        out += buf;
        break;
      default:
        in.fail(fmt::format("unsupported format character '{}'", conv));
    }
  }
  if (next < values.size()) in.fail("not all arguments converted during string formatting");
  return out;
}

Value Interpreter::eval_binary(const Expr& e, const std::shared_ptr<Scope>& scope) {
  const std::string& op = e.name;
  const Value a = eval(*e.a, scope);
  const Value b = eval(*e.b, scope);
  line_ = e.line;
  if (op == "==") return Value::boolean(equal(a, b));
  if (op == "!=") return Value::boolean(!equal(a, b));
  if (op == "~") return Value::string(to_str(a) + to_str(b));
  if (op == "in" || op == "not in") {
    bool found = false;
    // An undefined container iterates as empty (jinja2.Undefined.__iter__), so nothing is in it.
    if (b.is_undefined()) {
      found = false;
    } else if (b.is_string()) {
      if (!a.is_string()) fail(fmt::format("'in <string>' requires string as left operand, not {}", a.type_name()));
      found = b.s.find(a.s) != std::string::npos;
    } else if (b.is_list()) {
      for (const Value& x : *b.list) {
        if (equal(x, a)) {
          found = true;
          break;
        }
      }
    } else if (b.is_dict()) {
      found = b.dict->find(a) != nullptr;
    } else {
      fail(fmt::format("argument of type '{}' is not iterable", b.type_name()));
    }
    return Value::boolean(op == "in" ? found : !found);
  }
  if (op == "<" || op == "<=" || op == ">" || op == ">=") {
    if (a.is_undefined() || b.is_undefined()) undefined_error(*this, a.is_undefined() ? a : b, "undefined value in a comparison");
    int c;
    try {
      c = compare(a, b);
    } catch (const std::runtime_error& err) {
      fail(fmt::format("'{}' not supported between instances of '{}' and '{}'", op, a.type_name(), b.type_name()));
    }
    if (op == "<") return Value::boolean(c < 0);
    if (op == "<=") return Value::boolean(c <= 0);
    if (op == ">") return Value::boolean(c > 0);
    return Value::boolean(c >= 0);
  }
  // Arithmetic.
  if (a.is_undefined() || b.is_undefined()) undefined_error(*this, a.is_undefined() ? a : b, "undefined value in arithmetic");
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value::string(a.s + b.s);
    if (a.is_list() && b.is_list()) {
      List out = *a.list;
      out.insert(out.end(), b.list->begin(), b.list->end());
      return Value::make_list(std::move(out), a.tuple && b.tuple);
    }
    if (a.is_string() && !b.is_string()) fail(fmt::format("can only concatenate str (not \"{}\") to str", b.type_name()));
    if (a.is_list()) fail(fmt::format("can only concatenate list (not \"{}\") to list", b.type_name()));
  }
  if (op == "*") {
    const Value* seq = a.is_string() || a.is_list() ? &a : b.is_string() || b.is_list() ? &b : nullptr;
    const Value* count = seq == &a ? &b : &a;
    if (seq && (count->is_int() || count->type == Value::Type::Bool)) {
      const int64_t n = int_of(*count);
      if (n > 0 && (seq->is_string() ? seq->s.size() : seq->list->size()) * static_cast<size_t>(n) > limits_.max_output) {
        fail("the repetition is too large");
      }
      if (seq->is_string()) {
        std::string out;
        for (int64_t i = 0; i < n; ++i) out += seq->s;
        return Value::string(std::move(out));
      }
      List out;
      for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq->list->begin(), seq->list->end());
      return Value::make_list(std::move(out), seq->tuple);
    }
  }
  if (op == "*" && (a.is_string() || a.is_list() || b.is_string() || b.is_list())) {
    const Value& other = a.is_string() || a.is_list() ? b : a;
    fail(fmt::format("can't multiply sequence by non-int of type '{}'", other.type_name()));
  }
  if (op == "%" && a.is_string()) return Value::string(percent_format(*this, a.s, b));
  if (!is_numeric(a) || !is_numeric(b) || a.is_big_int() || b.is_big_int()) fail(unsupported(op.c_str(), a, b));
  const bool ints = a.type != Value::Type::Float && b.type != Value::Type::Float;
  const double x = a.type == Value::Type::Float ? a.f : static_cast<double>(int_of(a));
  const double y = b.type == Value::Type::Float ? b.f : static_cast<double>(int_of(b));
  if (op == "+" || op == "-" || op == "*") {
    if (ints) {
      int64_t r;
      const bool overflow = op == "+" ? __builtin_add_overflow(int_of(a), int_of(b), &r)
                            : op == "-" ? __builtin_sub_overflow(int_of(a), int_of(b), &r)
                                        : __builtin_mul_overflow(int_of(a), int_of(b), &r);
      if (!overflow) return Value::integer(r);
    }
    return Value::real(op == "+" ? x + y : op == "-" ? x - y : x * y);
  }
  if (op == "/") {
    if (y == 0) fail("division by zero");
    return Value::real(x / y);
  }
  if (op == "//" || op == "%") {
    if (y == 0) fail(op == "//" ? (ints ? "integer division or modulo by zero" : "float floor division by zero")
                   : (ints ? "integer modulo by zero" : "float modulo"));
    if (ints) {
      const int64_t p = int_of(a), q = int_of(b);
      int64_t d = p / q, m = p % q;
      if (m != 0 && ((m < 0) != (q < 0))) {
        --d;
        m += q;
      }
      return Value::integer(op == "//" ? d : m);
    }
    const double d = std::floor(x / y);
    return Value::real(op == "//" ? d : x - d * y);
  }
  if (op == "**") {
    if (ints && int_of(b) >= 0) {
      int64_t r = 1, base = int_of(a);
      bool overflow = false;
      for (int64_t i = 0; i < int_of(b) && !overflow; ++i) overflow = __builtin_mul_overflow(r, base, &r);
      if (!overflow) return Value::integer(r);
    }
    return Value::real(std::pow(x, y));
  }
  fail("unknown operator " + op);
}

}  // namespace qwenrt::chat
