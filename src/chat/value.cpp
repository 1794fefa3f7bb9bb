#include "chat/value.h"

#include "chat/python_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace qwenrt::chat {

Value Value::make_list(List items, bool tuple) {
  Value v;
  v.type = Type::List;
  v.list = std::make_shared<List>(std::move(items));
  v.tuple = tuple;
  return v;
}

Value Value::make_dict() {
  Value v;
  v.type = Type::Dict;
  v.dict = std::make_shared<Dict>();
  return v;
}

Value Value::function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  Value v;
  v.type = Type::Callable;
  v.fn = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return none();
    case nlohmann::ordered_json::value_t::boolean:
      return boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return integer(static_cast<int64_t>(u));
      Value v = integer(0);
      v.s = std::to_string(u);  // exact, as Python ints are
      return v;
    }
    case nlohmann::ordered_json::value_t::number_float:
      return real(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return make_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = make_dict();
      for (auto it = j.begin(); it != j.end(); ++it) d.dict->items.emplace_back(string(it.key()), from_json(it.value()));
      return d;
    }
    default:
      return none();
  }
}

bool Value::truthy() const {
  switch (type) {
    case Type::Undefined:
    case Type::None:
      return false;
    case Type::Bool:
      return b;
    case Type::Int:
      return is_big_int() || i != 0;
    case Type::Float:
      return f != 0.0;
    case Type::String:
      return !s.empty();
    case Type::List:
      return !list->empty();
    case Type::Dict:
      return ns || !dict->items.empty();
    case Type::Callable:
      return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (type) {
    case Type::Undefined:
      return "Undefined";
    case Type::None:
      return "NoneType";
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "int";
    case Type::Float:
      return "float";
    case Type::String:
      return "str";
    case Type::List:
      return tuple ? "tuple" : "list";
    case Type::Dict:
      return ns ? "Namespace" : "dict";
    case Type::Callable:
      return "function";
  }
  return "object";
}

Value* Dict::find(const Value& key) {
  for (auto& [k, v] : items) {
    if (equal(k, key)) return &v;
  }
  return nullptr;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k.is_string() && k.s == key) return &v;
  }
  return nullptr;
}

void Dict::set(const Value& key, Value value) {
  if (Value* v = find(key)) {
    *v = std::move(value);
    return;
  }
  items.emplace_back(key, std::move(value));
}

Value CallArgs::get(size_t index, std::string_view name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return v;
  }
  if (index < positional.size()) return positional[index];
  return Value::undefined();
}

bool CallArgs::has(size_t index, std::string_view name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return true;
  }
  return index < positional.size();
}

bool equal(const Value& a, const Value& b) {
  using T = Value::Type;
  auto numeric = [](const Value& v) { return v.type == T::Int || v.type == T::Float || v.type == T::Bool; };
  if (numeric(a) && numeric(b)) {
    if (a.is_big_int() || b.is_big_int()) return a.is_big_int() && b.is_big_int() && a.s == b.s;
    auto num = [](const Value& v) { return v.type == T::Bool ? (v.b ? 1.0 : 0.0) : v.type == T::Int ? static_cast<double>(v.i) : v.f; };
    if (a.type != T::Float && b.type != T::Float) {
      auto ival = [](const Value& v) { return v.type == T::Bool ? int64_t{v.b} : v.i; };
      return ival(a) == ival(b);
    }
    return num(a) == num(b);
  }
  if (a.type != b.type) return false;
  switch (a.type) {
    case T::Undefined:
    case T::None:
      return true;
    case T::String:
      return a.s == b.s;
    case T::List:
      if (a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i) {
        if (!equal((*a.list)[i], (*b.list)[i])) return false;
      }
      return true;
    case T::Dict:
      if (a.dict == b.dict) return true;
      if (a.ns || b.ns) return false;
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [k, v] : a.dict->items) {
        const Value* o = b.dict->find(k);
        if (!o || !equal(v, *o)) return false;
      }
      return true;
    case T::Callable:
      return a.fn == b.fn;
    default:
      return false;
  }
}

int compare(const Value& a, const Value& b) {
  using T = Value::Type;
  auto numeric = [](const Value& v) { return v.type == T::Int || v.type == T::Float || v.type == T::Bool; };
  if (numeric(a) && numeric(b)) {
    auto num = [](const Value& v) { return v.type == T::Bool ? (v.b ? 1.0 : 0.0) : v.as_double(); };
    if (a.type == T::Int && b.type == T::Int && !a.is_big_int() && !b.is_big_int()) return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
    const double x = num(a), y = num(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.type == T::String && b.type == T::String) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;  // UTF-8 order = code point order
  if (a.type == T::List && b.type == T::List) {
    for (size_t i = 0; i < a.list->size() && i < b.list->size(); ++i) {
      if (!equal((*a.list)[i], (*b.list)[i])) return compare((*a.list)[i], (*b.list)[i]);
    }
    return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size() ? 1 : 0;
  }
  throw std::runtime_error(fmt::format("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name()));
}

std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0.0) return std::signbit(x) ? "-0.0" : "0.0";
  // Shortest round-trip digits and the decimal exponent, then Python's layout rule.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp = std::stoi(sci.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exp + 1) {
      out += digits + std::string(static_cast<size_t>(exp + 1) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." + digits.substr(static_cast<size_t>(exp) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
  return out;
}

namespace {

bool printable(char32_t c) {
  // Python's str.isprintable, approximately: controls, separators other than the space, and
  // format characters are escaped in repr.
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return false;
  if ((c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x206F)) return false;
  if (c == 0x1680 || c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB)) return false;
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  return true;
}

std::string string_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
  const char q = has_single && !has_double ? '"' : '\'';
  std::string out(1, q);
  for (char32_t c : py::to_u32(s)) {
    if (c == static_cast<char32_t>(q) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (!printable(c)) {
      out += c < 0x100 ? fmt::format("\\x{:02x}", static_cast<unsigned>(c))
                       : c < 0x10000 ? fmt::format("\\u{:04x}", static_cast<unsigned>(c)) : fmt::format("\\U{:08x}", static_cast<unsigned>(c));
    } else {
      out += py::to_utf8(std::u32string(1, c));
    }
  }
  out += q;
  return out;
}

std::string container_str(const Value& v) {
  std::string out;
  if (v.type == Value::Type::List) {
    out = v.tuple ? "(" : "[";
    for (size_t i = 0; i < v.list->size(); ++i) {
      if (i) out += ", ";
      out += to_repr((*v.list)[i]);
    }
    if (v.tuple && v.list->size() == 1) out += ",";
    out += v.tuple ? ")" : "]";
    return out;
  }
  if (v.ns) {
    out = "<Namespace {";
  } else {
    out = "{";
  }
  bool first = true;
  for (const auto& [k, val] : v.dict->items) {
    if (!first) out += ", ";
    first = false;
    out += to_repr(k) + ": " + to_repr(val);
  }
  out += v.ns ? "}>" : "}";
  return out;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void json_into(std::string& out, const Value& v, int indent, const std::string& item_sep, const std::string& key_sep,
               bool sort_keys, int depth) {
  using T = Value::Type;
  auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out += std::string(static_cast<size_t>(indent * d), ' ');
  };
  switch (v.type) {
    case T::None:
      out += "null";
      return;
    case T::Bool:
      out += v.b ? "true" : "false";
      return;
    case T::Int:
      out += v.is_big_int() ? v.s : std::to_string(v.i);
      return;
    case T::Float:
      out += std::isnan(v.f) ? "NaN" : std::isinf(v.f) ? (v.f > 0 ? "Infinity" : "-Infinity") : float_repr(v.f);
      return;
    case T::String:
      out += json_string(v.s);
      return;
    case T::List: {
      if (v.list->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < v.list->size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        json_into(out, (*v.list)[i], indent, item_sep, key_sep, sort_keys, depth + 1);
      }
      newline(depth);
      out += ']';
      return;
    }
    case T::Dict: {
      if (v.dict->items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : v.dict->items) items.push_back(&kv);
      if (sort_keys) {
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return compare(a->first, b->first) < 0; });
      }
      out += '{';
      bool first = true;
      for (const auto* kv : items) {
        if (!first) out += item_sep;
        first = false;
        newline(depth + 1);
        const Value& k = kv->first;
        // json.dumps turns non-string keys into strings (True -> "true", 1 -> "1").
        if (k.is_string()) out += json_string(k.s);
        else if (k.type == T::Bool) out += k.b ? "\"true\"" : "\"false\"";
        else if (k.is_none()) out += "\"null\"";
        else out += json_string(to_str(k));
        out += key_sep;
        json_into(out, kv->second, indent, item_sep, key_sep, sort_keys, depth + 1);
      }
      newline(depth);
      out += '}';
      return;
    }
    case T::Undefined:
      throw std::runtime_error("Object of type Undefined is not JSON serializable");
    case T::Callable:
      throw std::runtime_error("Object of type function is not JSON serializable");
  }
}

}  // namespace

std::string to_str(const Value& v) {
  using T = Value::Type;
  switch (v.type) {
    case T::Undefined:
      return "";
    case T::None:
      return "None";
    case T::Bool:
      return v.b ? "True" : "False";
    case T::Int:
      return v.is_big_int() ? v.s : std::to_string(v.i);
    case T::Float:
      return float_repr(v.f);
    case T::String:
      return v.s;
    case T::List:
    case T::Dict:
      return container_str(v);
    case T::Callable:
      return "<function " + v.fn->name + ">";
  }
  return "";
}

std::string to_repr(const Value& v) {
  if (v.is_string()) return string_repr(v.s);
  return to_str(v);
}

std::string to_json(const Value& v, int indent, const std::string& item_sep, const std::string& key_sep, bool sort_keys) {
  std::string out;
  json_into(out, v, indent, item_sep, key_sep, sort_keys, 0);
  return out;
}

}  // namespace qwenrt::chat
