#pragma once
// Values of the template language with Python's semantics, because Hugging Face renders chat
// templates with Jinja2 on Python: None, bools, ints (exact beyond 64 bits when they came from
// JSON), floats, strings, lists (and tuples), insertion-ordered dicts (and namespaces),
// callables, and Undefined (a missing variable, attribute or item, which remembers why).
// Lists and dicts are shared by reference, as Python objects are.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qwenrt::chat {

struct Value;
using List = std::vector<Value>;
struct Dict;
struct Callable;
class Interpreter;

struct Value {
  enum class Type : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Callable };
  Type type = Type::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;           // String; for an Int beyond int64, its exact decimal digits; for Undefined, the reason
  std::shared_ptr<List> list;
  bool tuple = false;      // a List that prints as a tuple
  std::shared_ptr<Dict> dict;
  bool ns = false;         // a Dict that is a namespace() (attribute assignment allowed)
  std::shared_ptr<Callable> fn;

  static Value undefined(std::string why = "") { Value v; v.s = std::move(why); return v; }
  static Value none() { Value v; v.type = Type::None; return v; }
  static Value boolean(bool x) { Value v; v.type = Type::Bool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.type = Type::Int; v.i = x; return v; }
  static Value real(double x) { Value v; v.type = Type::Float; v.f = x; return v; }
  static Value string(std::string x) { Value v; v.type = Type::String; v.s = std::move(x); return v; }
  static Value make_list(List items = {}, bool tuple = false);
  static Value make_dict();
  static Value function(std::string name, std::function<Value(Interpreter&, struct CallArgs&)> fn);
  static Value from_json(const nlohmann::ordered_json& j);

  bool is_undefined() const { return type == Type::Undefined; }
  bool is_none() const { return type == Type::None; }
  bool is_string() const { return type == Type::String; }
  bool is_int() const { return type == Type::Int; }
  bool is_number() const { return type == Type::Int || type == Type::Float; }  // bools are not, in Jinja tests
  bool is_list() const { return type == Type::List; }
  bool is_dict() const { return type == Type::Dict; }
  bool is_big_int() const { return type == Type::Int && !s.empty(); }
  double as_double() const { return type == Type::Float ? f : is_big_int() ? std::stod(s) : static_cast<double>(i); }

  bool truthy() const;
  const char* type_name() const;  // Python's: "str", "list", "dict", "NoneType" ...
};

struct Dict {
  std::vector<std::pair<Value, Value>> items;
  Value* find(const Value& key);
  const Value* find(std::string_view key) const;
  void set(const Value& key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The argument named `name` or at `index`, else undefined.
  Value get(size_t index, std::string_view name) const;
  bool has(size_t index, std::string_view name) const;
};

struct Callable {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> call;
};

// Python equality (1 == 1.0, lists and dicts element-wise, different types unequal).
bool equal(const Value& a, const Value& b);
// Python ordering for <, <=, >, >=; throws TemplateError-worthy std::runtime_error on types Python cannot order.
int compare(const Value& a, const Value& b);

// str(value) as Python prints it ("True", "None", "2.5", "[1, 'a']"); Undefined prints as "".
std::string to_str(const Value& v);
// repr(value).
std::string to_repr(const Value& v);
// json.dumps(value, ensure_ascii=False, indent, separators, sort_keys) as transformers' tojson does.
std::string to_json(const Value& v, int indent = -1, const std::string& item_sep = ", ", const std::string& key_sep = ": ",
                    bool sort_keys = false);
// Python's float repr: shortest round trip, fixed notation for exponents in [-4, 16).
std::string float_repr(double x);

}  // namespace qwenrt::chat
