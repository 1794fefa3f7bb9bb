// Jinja2's builtin filters and tests, the methods of str / dict / list values that templates call,
// and the globals Hugging Face adds (raise_exception, strftime_now). Semantics are Jinja2 3.1 on
// Python 3 in Hugging Face's ImmutableSandboxedEnvironment: methods that mutate a list or dict are
// refused, as the sandbox refuses them.
#include "chat/interpreter.h"
#include "chat/python_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cfenv>
#include <charconv>
#include <cmath>
#include <ctime>
#include <stdexcept>

namespace qwenrt::chat {
namespace {

using T = Value::Type;

// ---------------------------------------------------------------- helpers

bool is_int_like(const Value& v) { return (v.type == T::Int && !v.is_big_int()) || v.type == T::Bool; }
int64_t int_of(const Value& v) { return v.type == T::Bool ? v.b : v.i; }

int64_t int_arg(Interpreter& in, const Value& v, const char* what, int64_t dflt) {
  if (v.is_undefined() || v.is_none()) return dflt;
  if (!is_int_like(v)) in.fail(fmt::format("{} must be an integer, not '{}'", what, v.type_name()));
  return int_of(v);
}

bool bool_arg(const Value& v, bool dflt) { return v.is_undefined() ? dflt : v.truthy(); }

std::optional<std::string> opt_string(Interpreter& in, const Value& v, const char* what) {
  if (v.is_undefined() || v.is_none()) return std::nullopt;
  if (!v.is_string()) in.fail(fmt::format("{} must be None or a string, not '{}'", what, v.type_name()));
  return v.s;
}

// Returns a copy: callers often pass a temporary Value (CallArgs::get), and a
// reference into it would dangle at the end of the full expression.
std::string string_arg(Interpreter& in, const Value& v, const char* what) {
  if (!v.is_string()) in.fail(fmt::format("{} must be a string, not '{}'", what, v.type_name()));
  return v.s;
}

// len() as Python and jinja2.Undefined (length 0) define it.
int64_t length_of(Interpreter& in, const Value& v) {
  switch (v.type) {
    case T::Undefined:
      return 0;
    case T::String:
      return static_cast<int64_t>(py::length(v.s));
    case T::List:
      return static_cast<int64_t>(v.list->size());
    case T::Dict:
      return static_cast<int64_t>(v.dict->items.size());
    default:
      in.fail(fmt::format("object of type '{}' has no len()", v.type_name()));
  }
}

// An "attribute" argument of sort/map/sum...: dotted names and integer parts, as jinja2's
// make_attrgetter resolves them.
Value resolve_attribute(Interpreter& in, const Value& item, const Value& attribute) {
  if (attribute.is_undefined() || attribute.is_none()) return item;
  if (is_int_like(attribute)) return in.get_item(item, attribute);
  Value v = item;
  for (const std::string& part : py::split(to_str(attribute), std::string("."), -1, false)) {
    int64_t index = 0;
    const auto r = std::from_chars(part.data(), part.data() + part.size(), index);
    v = r.ec == std::errc() && r.ptr == part.data() + part.size() ? in.get_item(v, Value::integer(index))
                                                                    : in.get_item(v, Value::string(part));
  }
  return v;
}

Value lowercase_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value::string(py::lower(v.s)) : v;
}

int checked_compare(Interpreter& in, const Value& a, const Value& b) {
  try {
    return compare(a, b);
  } catch (const std::runtime_error&) {
    in.fail(fmt::format("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name()));
  }
}

std::string json_dumps(Interpreter& in, const Value& v, const CallArgs& args) {
  // transformers' tojson: json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
  // sort_keys=sort_keys). With an indent, json.dumps's default item separator loses its space.
  const bool ensure_ascii = bool_arg(args.get(0, "ensure_ascii"), false);
  const Value indent_v = args.get(1, "indent");
  const Value separators = args.get(2, "separators");
  const bool sort_keys = bool_arg(args.get(3, "sort_keys"), false);
  int indent = -1;
  if (!indent_v.is_undefined() && !indent_v.is_none()) {
    indent = static_cast<int>(std::clamp<int64_t>(int_arg(in, indent_v, "tojson indent", 0), 0, 64));
  }
  std::string item_sep = indent >= 0 ? "," : ", ", key_sep = ": ";
  if (!separators.is_undefined() && !separators.is_none()) {
    if (!separators.is_list() || separators.list->size() != 2 || !(*separators.list)[0].is_string() ||
        !(*separators.list)[1].is_string()) {
      in.fail("tojson separators must be a pair of strings");
    }
    item_sep = (*separators.list)[0].s;
    key_sep = (*separators.list)[1].s;
  }
  std::string out;
  try {
    out = to_json(v, indent, item_sep, key_sep, sort_keys);
  } catch (const std::runtime_error& e) {
    in.fail(e.what());
  }
  if (!ensure_ascii || py::is_ascii(out)) return out;
  // Non-ASCII only occurs inside JSON strings, so escaping it afterwards is exact.
  std::string escaped;
  for (char32_t c : py::to_u32(out)) {
    if (c < 0x80) {
      escaped += static_cast<char>(c);
    } else if (c < 0x10000) {
      escaped += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      const char32_t u = c - 0x10000;
      escaped += fmt::format("\\u{:04x}\\u{:04x}", static_cast<unsigned>(0xD800 + (u >> 10)), static_cast<unsigned>(0xDC00 + (u & 0x3FF)));
    }
  }
  return escaped;
}

std::vector<std::string> splitlines(const std::string& s, bool keepends = false) {
  // str.splitlines(): \n \r \r\n \v \f \x1c \x1d \x1e \x85 \u2028 \u2029.
  std::vector<std::string> lines;
  const std::u32string u = py::to_u32(s);
  std::u32string cur;
  for (size_t i = 0; i < u.size(); ++i) {
    const char32_t c = u[i];
    const bool br = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) || c == 0x85 || c == 0x2028 ||
                    c == 0x2029;
    if (!br) {
      cur.push_back(c);
      continue;
    }
    if (keepends) cur.push_back(c);
    if (c == '\r' && i + 1 < u.size() && u[i + 1] == '\n') {
      if (keepends) cur.push_back('\n');
      ++i;
    }
    lines.push_back(py::to_utf8(cur));
    cur.clear();
  }
  if (!cur.empty()) lines.push_back(py::to_utf8(cur));
  return lines;
}

std::string replace_all(const std::string& s, const std::string& old, const std::string& repl, int64_t count) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (old.empty()) {
    // Python inserts the replacement between every character (and at both ends).
    const std::u32string u = py::to_u32(s);
    int64_t done = 0;
    for (size_t i = 0; i <= u.size(); ++i) {
      if (done < count) {
        out += repl;
        ++done;
      }
      if (i < u.size()) out += py::to_utf8(std::u32string(1, u[i]));
    }
    return out;
  }
  size_t pos = 0;
  for (int64_t n = 0; n < count; ++n) {
    const size_t hit = s.find(old, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += repl;
    pos = hit + old.size();
  }
  out.append(s, pos, std::string::npos);
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string pad_center(const std::string& s, int64_t width, bool left_align, bool right_align, const std::string& fill = " ") {
  const auto n = static_cast<int64_t>(py::length(s));
  if (width <= n) return s;
  const int64_t total = width - n;
  // Python's str.center puts the odd extra character on the left when the string length is odd... it
  // uses left = total/2 + (total & width & 1).
  int64_t left = left_align ? 0 : right_align ? total : total / 2 + (total & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (int64_t i = 0; i < total - left; ++i) out += fill;
  return out;
}

// Jinja2's title filter (not str.title): words start after whitespace or one of -({[<, and each
// word is its first character upper-cased and the rest lower-cased ("they're" -> "They're").
std::string title_words(const std::string& s) {
  const std::u32string u = py::to_u32(s);
  std::u32string out;
  bool at_start = true;
  for (char32_t c : u) {
    const bool sep = py::is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      out.push_back(c);
      at_start = true;
      continue;
    }
    const std::string one = py::to_utf8(std::u32string(1, c));
    const std::u32string mapped = py::to_u32(at_start ? py::upper(one) : py::lower(one));
    out += mapped;
    at_start = false;
  }
  return py::to_utf8(out);
}

// str.format with {} / {0} / {name} fields and no format specs or conversions beyond !s / !r.
std::string str_format(Interpreter& in, const std::string& f, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}' ) {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      in.fail("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = f.find('}', i);
    if (close == std::string::npos) in.fail("Single '{' encountered in format string");
    std::string field = f.substr(i + 1, close - i - 1);
    i = close;
    char conversion = 's';
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      if (bang + 2 != field.size()) in.fail("unsupported format conversion in str.format");
      conversion = field[bang + 1];
      field.resize(bang);
    }
    if (field.find(':') != std::string::npos) in.fail("format specs in str.format are not supported");
    Value v;
    if (field.empty()) {
      if (auto_index >= args.positional.size()) in.fail("tuple index out of range");
      v = args.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      const size_t k = std::stoul(field);
      if (k >= args.positional.size()) in.fail("tuple index out of range");
      v = args.positional[k];
    } else {
      const auto it = std::find_if(args.keyword.begin(), args.keyword.end(), [&](const auto& kv) { return kv.first == field; });
      if (it == args.keyword.end()) in.fail(fmt::format("'{}'", field));
      v = it->second;
    }
    out += conversion == 'r' ? to_repr(v) : to_str(v);
  }
  return out;
}

double round_half_even(double x, int64_t digits, const std::string& method) {
  const double scale = std::pow(10.0, static_cast<double>(digits));
  const double y = x * scale;
  double r;
  if (method == "ceil") {
    r = std::ceil(y);
  } else if (method == "floor") {
    r = std::floor(y);
  } else {
    const int saved = std::fegetround();
    std::fesetround(FE_TONEAREST);
    r = std::nearbyint(y);
    std::fesetround(saved);
  }
  return r / scale;
}

// ---------------------------------------------------------------- tests

bool run_test(Interpreter& in, const std::string& name, const Value& v, const CallArgs& args, bool* found) {
  *found = true;
  const Value arg = args.get(0, "other");
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.type == T::Int || v.type == T::Float || v.type == T::Bool;  // bool is an int in Python
  if (name == "integer") return v.type == T::Int;  // Jinja2 excludes bools here
  if (name == "float") return v.type == T::Float;
  if (name == "boolean") return v.type == T::Bool;
  if (name == "true") return v.type == T::Bool && v.b;
  if (name == "false") return v.type == T::Bool && !v.b;
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_list() || v.is_dict();
  if (name == "callable") return v.type == T::Callable;
  if (name == "sameas") {
    if (v.type != arg.type) return false;
    if (v.is_list()) return v.list == arg.list;
    if (v.is_dict()) return v.dict == arg.dict;
    if (v.type == T::Callable) return v.fn == arg.fn;
    return equal(v, arg);  // None, bools, small ints and interned strings behave so in CPython
  }
  if (name == "eq" || name == "==" || name == "equalto") return equal(v, arg);
  if (name == "ne" || name == "!=") return !equal(v, arg);
  if (name == "lt" || name == "<" || name == "lessthan") return checked_compare(in, v, arg) < 0;
  if (name == "le" || name == "<=") return checked_compare(in, v, arg) <= 0;
  if (name == "gt" || name == ">" || name == "greaterthan") return checked_compare(in, v, arg) > 0;
  if (name == "ge" || name == ">=") return checked_compare(in, v, arg) >= 0;
  if (name == "in") {
    const Value seq = args.get(0, "seq");
    if (seq.is_string()) return v.is_string() && seq.s.find(v.s) != std::string::npos;
    if (seq.is_list()) return std::any_of(seq.list->begin(), seq.list->end(), [&](const Value& x) { return equal(x, v); });
    if (seq.is_dict()) return seq.dict->find(v) != nullptr;
    in.fail(fmt::format("argument of type '{}' is not iterable", seq.type_name()));
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!is_int_like(v)) in.fail(fmt::format("test '{}' needs an integer, not '{}'", name, v.type_name()));
    if (name == "odd") return (int_of(v) & 1) != 0;
    if (name == "even") return (int_of(v) & 1) == 0;
    const int64_t d = int_arg(in, args.get(0, "num"), "divisibleby", 0);
    if (d == 0) in.fail("integer division or modulo by zero");
    return int_of(v) % d == 0;
  }
  if (name == "lower") return v.is_string() && py::lower(v.s) == v.s;
  if (name == "upper") return v.is_string() && py::upper(v.s) == v.s;
  if (name == "escaped") return false;
  *found = false;
  return false;
}

// ---------------------------------------------------------------- filters

Value select_like(Interpreter& in, const Value& input, CallArgs& args, bool by_attribute, bool keep_if) {
  // select(test, args...), reject(...), selectattr(attr, test, args...), rejectattr(...).
  size_t next = 0;
  Value attribute;
  if (by_attribute) {
    if (args.positional.empty()) in.fail("selectattr/rejectattr need an attribute name");
    attribute = args.positional[next++];
  }
  std::string test;
  if (next < args.positional.size()) test = string_arg(in, args.positional[next++], "the test name");
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(std::min(next, args.positional.size())),
                              args.positional.end());
  List out;
  for (const Value& item : in.iterate(input)) {
    const Value subject = by_attribute ? resolve_attribute(in, item, attribute) : item;
    const bool ok = test.empty() ? subject.truthy() : in.apply_test(test, subject, test_args);
    if (ok == keep_if) out.push_back(item);
  }
  return Value::make_list(std::move(out));
}

Value filter_impl(Interpreter& in, const std::string& name, const Value& v, CallArgs& args, bool* found) {
  *found = true;
  if (name == "tojson") return Value::string(json_dumps(in, v, args));
  if (name == "safe" || name == "string") return Value::string(to_str(v));
  if (name == "trim") return Value::string(py::strip(to_str(v), opt_string(in, args.get(0, "chars"), "trim chars"), true, true));
  if (name == "length" || name == "count") return Value::integer(length_of(in, v));
  if (name == "items") {
    if (v.is_undefined()) return Value::make_list();
    if (!v.is_dict()) in.fail("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, val] : v.dict->items) out.push_back(Value::make_list({k, val}, true));
    return Value::make_list(std::move(out));
  }
  if (name == "default" || name == "d") {
    const bool boolean = bool_arg(args.get(1, "boolean"), false);
    if (v.is_undefined() || (boolean && !v.truthy())) {
      const Value d = args.get(0, "default_value");
      return d.is_undefined() ? Value::string("") : d;
    }
    return v;
  }
  if (name == "upper") return Value::string(py::upper(to_str(v)));
  if (name == "lower") return Value::string(py::lower(to_str(v)));
  if (name == "title") return Value::string(title_words(to_str(v)));
  if (name == "capitalize") return Value::string(py::capitalize(to_str(v)));
  if (name == "escape" || name == "e") return Value::string(html_escape(to_str(v)));
  if (name == "replace") {
    const Value count = args.get(2, "count");
    return Value::string(replace_all(to_str(v), to_str(args.get(0, "old")), to_str(args.get(1, "new")),
                                     int_arg(in, count, "replace count", -1)));
  }
  if (name == "first" || name == "last") {
    const std::vector<Value> items = in.iterate(v);
    if (items.empty()) return Value::undefined(fmt::format("No {} item, sequence was empty.", name));
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    const Value attribute = args.get(1, "attribute");
    const Value sep = args.get(0, "d");
    std::string out;
    bool first = true;
    for (const Value& item : in.iterate(v)) {
      if (!first) out += sep.is_undefined() ? "" : to_str(sep);
      first = false;
      out += to_str(resolve_attribute(in, item, attribute));
    }
    return Value::string(std::move(out));
  }
  if (name == "list") return Value::make_list(in.iterate(v));
  if (name == "reverse") {
    if (v.is_string()) {
      std::u32string u = py::to_u32(v.s);
      std::reverse(u.begin(), u.end());
      return Value::string(py::to_utf8(u));
    }
    std::vector<Value> items = in.iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::make_list(std::move(items));
  }
  if (name == "sort" || name == "dictsort" || name == "unique" || name == "min" || name == "max") {
    const bool case_sensitive = bool_arg(args.get(name == "sort" ? 1 : 0, "case_sensitive"), false);
    const Value attribute = args.get(name == "sort" ? 2 : name == "dictsort" ? 99 : 1, "attribute");
    if (name == "dictsort") {
      if (!v.is_dict()) in.fail("dictsort needs a mapping");
      const std::string by = args.has(1, "by") ? to_str(args.get(1, "by")) : "key";
      const bool rev = bool_arg(args.get(2, "reverse"), false);
      std::vector<std::pair<Value, Value>> items = v.dict->items;
      std::stable_sort(items.begin(), items.end(), [&](const auto& a, const auto& b) {
        const Value& x = by == "value" ? a.second : a.first;
        const Value& y = by == "value" ? b.second : b.first;
        const int c = checked_compare(in, lowercase_key(x, case_sensitive), lowercase_key(y, case_sensitive));
        return rev ? c > 0 : c < 0;
      });
      List out;
      for (auto& [k, val] : items) out.push_back(Value::make_list({k, val}, true));
      return Value::make_list(std::move(out));
    }
    std::vector<Value> items = in.iterate(v);
    auto key = [&](const Value& item) { return lowercase_key(resolve_attribute(in, item, attribute), case_sensitive); };
    if (name == "unique") {
      List out;
      std::vector<Value> seen;
      for (const Value& item : items) {
        const Value k = key(item);
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, k); })) {
          seen.push_back(k);
          out.push_back(item);
        }
      }
      return Value::make_list(std::move(out));
    }
    if (name == "min" || name == "max") {
      if (items.empty()) return Value::undefined(fmt::format("No aggregated item, sequence was empty."));
      size_t best = 0;
      for (size_t i = 1; i < items.size(); ++i) {
        const int c = checked_compare(in, key(items[i]), key(items[best]));
        if (name == "min" ? c < 0 : c > 0) best = i;
      }
      return items[best];
    }
    const bool rev = bool_arg(args.get(0, "reverse"), false);
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const int c = checked_compare(in, key(a), key(b));
      return rev ? c > 0 : c < 0;
    });
    return Value::make_list(std::move(items));
  }
  if (name == "map") {
    List out;
    const Value attribute = args.get(99, "attribute");
    if (!attribute.is_undefined()) {
      const Value dflt = args.get(99, "default");
      for (const Value& item : in.iterate(v)) {
        Value x = resolve_attribute(in, item, attribute);
        out.push_back(x.is_undefined() && !dflt.is_undefined() ? dflt : x);
      }
      return Value::make_list(std::move(out));
    }
    if (args.positional.empty()) in.fail("map needs a filter name or attribute=");
    const std::string filter = string_arg(in, args.positional[0], "the filter name");
    CallArgs rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    rest.keyword = args.keyword;
    for (const Value& item : in.iterate(v)) out.push_back(in.apply_filter(filter, item, rest));
    return Value::make_list(std::move(out));
  }
  if (name == "select") return select_like(in, v, args, false, true);
  if (name == "reject") return select_like(in, v, args, false, false);
  if (name == "selectattr") return select_like(in, v, args, true, true);
  if (name == "rejectattr") return select_like(in, v, args, true, false);
  if (name == "attr") return in.get_attribute(v, to_str(args.get(0, "name")));
  if (name == "int") {
    const Value dflt = args.has(0, "default") ? args.get(0, "default") : Value::integer(0);
    const int64_t base = int_arg(in, args.get(1, "base"), "int base", 10);
    if (is_int_like(v) || v.is_big_int()) return v.type == T::Bool ? Value::integer(v.b) : v;
    if (v.type == T::Float) return std::isfinite(v.f) && std::fabs(v.f) < 9.2e18 ? Value::integer(static_cast<int64_t>(v.f)) : dflt;
    if (v.is_string()) {
      const std::string s = py::strip(v.s, std::nullopt, true, true);
      int64_t x = 0;
      const char* b = s.data() + (!s.empty() && s[0] == '+');
      const bool negative = !s.empty() && s[0] == '-';
      std::string digits(b + negative, s.data() + s.size());
      // Python's int(text, base) takes a 0x / 0o / 0b prefix matching the base (any of them with base 0).
      int radix = static_cast<int>(base);
      if (digits.size() > 2 && digits[0] == '0') {
        const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(digits[1])));
        const int prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
        if (prefixed && (radix == prefixed || radix == 0)) {
          radix = prefixed;
          digits.erase(0, 2);
        }
      }
      if (radix == 0) radix = 10;
      if (radix >= 2 && radix <= 36 && !digits.empty()) {
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), x, radix);
        if (r.ec == std::errc() && r.ptr == digits.data() + digits.size()) return Value::integer(negative ? -x : x);
      }
      double d = 0;
      const auto r = std::from_chars(b, s.data() + s.size(), d);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty() && std::fabs(d) < 9.2e18) {
        return Value::integer(static_cast<int64_t>(d));
      }
    }
    return dflt;
  }
  if (name == "float") {
    const Value dflt = args.has(0, "default") ? args.get(0, "default") : Value::real(0.0);
    if (v.is_number() || v.type == T::Bool) return Value::real(v.type == T::Bool ? v.b : v.as_double());
    if (v.is_string()) {
      const std::string s = py::strip(v.s, std::nullopt, true, true);
      double d = 0;
      const char* b = s.data() + (!s.empty() && s[0] == '+');
      const auto r = std::from_chars(b, s.data() + s.size(), d);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) return Value::real(d);
    }
    return dflt;
  }
  if (name == "abs") {
    if (is_int_like(v)) {
      if (int_of(v) == INT64_MIN) in.fail("integer overflow in abs");
      return Value::integer(std::llabs(int_of(v)));
    }
    if (v.type == T::Float) return Value::real(std::fabs(v.f));
    in.fail(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
  }
  if (name == "round") {
    if (!v.is_number() && v.type != T::Bool) in.fail(fmt::format("type {} doesn't define __round__ method", v.type_name()));
    const int64_t precision = int_arg(in, args.get(0, "precision"), "round precision", 0);
    const std::string method = args.has(1, "method") ? to_str(args.get(1, "method")) : "common";
    if (method != "common" && method != "ceil" && method != "floor") in.fail("method must be common, ceil or floor");
    if (is_int_like(v) && method == "common") return Value::integer(int_of(v));
    return Value::real(round_half_even(v.as_double(), precision, method));
  }
  if (name == "sum") {
    const Value attribute = args.get(0, "attribute");
    Value total = args.has(1, "start") ? args.get(1, "start") : Value::integer(0);
    for (const Value& item : in.iterate(v)) {
      const Value x = resolve_attribute(in, item, attribute);
      if (!(total.is_number() || total.type == T::Bool) || !(x.is_number() || x.type == T::Bool)) {
        in.fail(fmt::format("unsupported operand type(s) for +: '{}' and '{}'", total.type_name(), x.type_name()));
      }
      int64_t r;
      if (is_int_like(total) && is_int_like(x) && !__builtin_add_overflow(int_of(total), int_of(x), &r)) {
        total = Value::integer(r);
      } else {
        total = Value::real((total.type == T::Bool ? total.b : total.as_double()) + (x.type == T::Bool ? x.b : x.as_double()));
      }
    }
    return total;
  }
  if (name == "indent") {
    const Value width = args.get(0, "width");
    const std::string indention = width.is_string() ? width.s : std::string(static_cast<size_t>(std::clamp<int64_t>(int_arg(in, width, "indent width", 4), 0, 1024)), ' ');
    const bool first = bool_arg(args.get(1, "first"), false), blank = bool_arg(args.get(2, "blank"), false);
    std::vector<std::string> lines = splitlines(to_str(v) + "\n");
    std::string rv;
    if (blank) {
      for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
    } else if (!lines.empty()) {
      rv = lines[0];
      for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention) + lines[i];
    }
    return Value::string(first ? indention + rv : rv);
  }
  if (name == "center") return Value::string(pad_center(to_str(v), int_arg(in, args.get(0, "width"), "center width", 80), false, false));
  if (name == "format") {
    Value tuple = Value::make_list(args.positional, true);
    return Value::string(percent_format(in, to_str(v), tuple));
  }
  if (name == "batch") {
    const int64_t n = int_arg(in, args.get(0, "linecount"), "batch size", 1);
    if (n <= 0) in.fail("batch size must be positive");
    const Value fill = args.get(1, "fill_with");
    List out, cur;
    for (const Value& item : in.iterate(v)) {
      cur.push_back(item);
      if (static_cast<int64_t>(cur.size()) == n) {
        out.push_back(Value::make_list(std::move(cur)));
        cur.clear();
      }
    }
    if (!cur.empty()) {
      if (!fill.is_undefined()) {
        while (static_cast<int64_t>(cur.size()) < n) cur.push_back(fill);
      }
      out.push_back(Value::make_list(std::move(cur)));
    }
    return Value::make_list(std::move(out));
  }
  *found = false;
  return Value::undefined();
}

// ---------------------------------------------------------------- methods

Value method(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) { return Value::function(std::move(name), std::move(fn)); }

bool prefix_match(Interpreter& in, const std::string& s, const Value& affix, bool at_end) {
  std::vector<Value> options = affix.is_list() && affix.tuple ? *affix.list : std::vector<Value>{affix};
  for (const Value& o : options) {
    if (!o.is_string()) in.fail(fmt::format("{} first arg must be str or a tuple of str, not {}", at_end ? "endswith" : "startswith", o.type_name()));
    if (o.s.size() > s.size()) continue;
    if (at_end ? s.compare(s.size() - o.s.size(), o.s.size(), o.s) == 0 : s.compare(0, o.s.size(), o.s) == 0) return true;
  }
  return false;
}

// Code-point offset of a byte offset.
int64_t cp_index(const std::string& s, size_t byte) { return static_cast<int64_t>(py::length(std::string_view(s).substr(0, byte))); }

Value string_method(const std::string& s, const std::string& name) {
  if (name == "startswith" || name == "endswith") {
    const bool at_end = name == "endswith";
    return method(name, [s, at_end](Interpreter& in, CallArgs& a) {
      if (a.positional.empty()) in.fail("startswith/endswith take at least 1 argument");
      std::string subject = s;
      if (a.positional.size() > 1) {
        // start / end in code points
        const std::u32string u = py::to_u32(s);
        const auto n = static_cast<int64_t>(u.size());
        auto norm = [n](int64_t x) { return std::clamp<int64_t>(x < 0 ? x + n : x, 0, n); };
        const int64_t b = norm(int_arg(in, a.positional[1], "start", 0));
        const int64_t e = a.positional.size() > 2 ? norm(int_arg(in, a.positional[2], "end", n)) : n;
        subject = b < e ? py::to_utf8(u.substr(static_cast<size_t>(b), static_cast<size_t>(e - b))) : "";
      }
      return Value::boolean(prefix_match(in, subject, a.positional[0], at_end));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    return method(name, [s, left, right](Interpreter& in, CallArgs& a) {
      return Value::string(py::strip(s, opt_string(in, a.get(0, "chars"), "strip arg"), left, right));
    });
  }
  if (name == "split" || name == "rsplit") {
    const bool from_right = name == "rsplit";
    return method(name, [s, from_right](Interpreter& in, CallArgs& a) {
      const std::optional<std::string> sep = opt_string(in, a.get(0, "sep"), "split separator");
      if (sep && sep->empty()) in.fail("empty separator");
      List out;
      for (std::string& part : py::split(s, sep, int_arg(in, a.get(1, "maxsplit"), "maxsplit", -1), from_right)) {
        out.push_back(Value::string(std::move(part)));
      }
      return Value::make_list(std::move(out));
    });
  }
  if (name == "splitlines") {
    return method(name, [s](Interpreter&, CallArgs& a) {
      List out;
      for (std::string& line : splitlines(s, bool_arg(a.get(0, "keepends"), false))) out.push_back(Value::string(std::move(line)));
      return Value::make_list(std::move(out));
    });
  }
  if (name == "replace") {
    return method(name, [s](Interpreter& in, CallArgs& a) {
      return Value::string(replace_all(s, string_arg(in, a.get(0, "old"), "replace old"), string_arg(in, a.get(1, "new"), "replace new"),
                                       int_arg(in, a.get(2, "count"), "replace count", -1)));
    });
  }
  if (name == "upper") return method(name, [s](Interpreter&, CallArgs&) { return Value::string(py::upper(s)); });
  if (name == "lower") return method(name, [s](Interpreter&, CallArgs&) { return Value::string(py::lower(s)); });
  if (name == "title") return method(name, [s](Interpreter&, CallArgs&) { return Value::string(py::title(s)); });
  if (name == "capitalize") return method(name, [s](Interpreter&, CallArgs&) { return Value::string(py::capitalize(s)); });
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    return method(name, [s, name](Interpreter& in, CallArgs& a) {
      const std::string sub = string_arg(in, a.get(0, "sub"), "the substring");
      if (name == "count") {
        if (sub.empty()) return Value::integer(static_cast<int64_t>(py::length(s)) + 1);
        int64_t n = 0;
        for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
        return Value::integer(n);
      }
      const size_t p = name[0] == 'r' ? s.rfind(sub) : s.find(sub);
      if (p == std::string::npos) {
        if (name == "index" || name == "rindex") in.fail("substring not found");
        return Value::integer(-1);
      }
      return Value::integer(cp_index(s, p));
    });
  }
  if (name == "join") {
    return method(name, [s](Interpreter& in, CallArgs& a) {
      std::string out;
      bool first = true;
      size_t index = 0;
      for (const Value& item : in.iterate(a.get(0, "iterable"))) {
        if (!item.is_string()) in.fail(fmt::format("sequence item {}: expected str instance, {} found", index, item.type_name()));
        ++index;
        if (!first) out += s;
        first = false;
        out += item.s;
      }
      return Value::string(std::move(out));
    });
  }
  if (name == "format") return method(name, [s](Interpreter& in, CallArgs& a) { return Value::string(str_format(in, s, a)); });
  if (name == "removeprefix" || name == "removesuffix") {
    const bool suffix = name == "removesuffix";
    return method(name, [s, suffix](Interpreter& in, CallArgs& a) {
      const std::string x = string_arg(in, a.get(0, suffix ? "suffix" : "prefix"), "the affix");
      if (x.size() <= s.size() && (suffix ? s.compare(s.size() - x.size(), x.size(), x) == 0 : s.compare(0, x.size(), x) == 0)) {
        return Value::string(suffix ? s.substr(0, s.size() - x.size()) : s.substr(x.size()));
      }
      return Value::string(s);
    });
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    return method(name, [s, name](Interpreter& in, CallArgs& a) {
      const Value fill = a.get(1, "fillchar");
      const std::string f = fill.is_undefined() ? " " : string_arg(in, fill, "fillchar");
      if (py::length(f) != 1) in.fail("The fill character must be exactly one character long");
      return Value::string(pad_center(s, int_arg(in, a.get(0, "width"), "width", 0), name == "ljust", name == "rjust", f));
    });
  }
  if (name == "zfill") {
    return method(name, [s](Interpreter& in, CallArgs& a) {
      const int64_t width = int_arg(in, a.get(0, "width"), "width", 0);
      const auto n = static_cast<int64_t>(py::length(s));
      if (width <= n) return Value::string(s);
      const bool sign = !s.empty() && (s[0] == '+' || s[0] == '-');
      std::string out = sign ? s.substr(0, 1) : "";
      out += std::string(static_cast<size_t>(width - n), '0');
      out += sign ? s.substr(1) : s;
      return Value::string(out);
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "isupper" || name == "islower") {
    return method(name, [s, name](Interpreter&, CallArgs&) {
      const std::u32string u = py::to_u32(s);
      if (u.empty()) return Value::boolean(false);
      if (name == "isspace") return Value::boolean(std::all_of(u.begin(), u.end(), py::is_space));
      if (name == "isupper" || name == "islower") {
        const std::string other = name == "isupper" ? py::upper(s) : py::lower(s);
        return Value::boolean(other == s && py::lower(s) != py::upper(s));
      }
      const auto ascii_pred = [&](char32_t c) {
        const bool digit = c >= '0' && c <= '9';
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;  // non-ASCII counts as a letter
        return name == "isdigit" ? digit : name == "isalpha" ? alpha : digit || alpha;
      };
      return Value::boolean(std::all_of(u.begin(), u.end(), ascii_pred));
    });
  }
  return Value::undefined();
}

Value dict_method(const Value& d, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return method(name, [d, name](Interpreter&, CallArgs&) {
      List out;
      for (const auto& [k, v] : d.dict->items) {
        out.push_back(name == "items" ? Value::make_list({k, v}, true) : name == "keys" ? k : v);
      }
      return Value::make_list(std::move(out));
    });
  }
  if (name == "get") {
    return method(name, [d](Interpreter&, CallArgs& a) {
      const Value* v = d.dict->find(a.get(0, "key"));
      if (v) return *v;
      const Value dflt = a.get(1, "default");
      return dflt.is_undefined() ? Value::none() : dflt;
    });
  }
  if (name == "copy") {
    return method(name, [d](Interpreter&, CallArgs&) {
      Value c = Value::make_dict();
      c.dict->items = d.dict->items;
      return c;
    });
  }
  if (name == "update" || name == "pop" || name == "popitem" || name == "setdefault" || name == "clear") {
    return Value::undefined(fmt::format("access to attribute '{}' of 'dict' object is unsafe.", name));
  }
  return Value::undefined();
}

Value list_method(const Value& l, const std::string& name) {
  if (name == "index" || name == "count") {
    return method(name, [l, name](Interpreter& in, CallArgs& a) {
      const Value x = a.get(0, "value");
      int64_t n = 0;
      for (size_t i = 0; i < l.list->size(); ++i) {
        if (!equal((*l.list)[i], x)) continue;
        if (name == "index") return Value::integer(static_cast<int64_t>(i));
        ++n;
      }
      if (name == "index") in.fail(fmt::format("{} is not in list", to_repr(x)));
      return Value::integer(n);
    });
  }
  if (!l.tuple && (name == "append" || name == "extend" || name == "insert" || name == "pop" || name == "remove" ||
                   name == "clear" || name == "sort" || name == "reverse")) {
    return Value::undefined(fmt::format("access to attribute '{}' of 'list' object is unsafe.", name));
  }
  return Value::undefined();
}

}  // namespace

Value builtin_filter(Interpreter& in, const std::string& name, const Value& input, CallArgs& args, bool* found) {
  return filter_impl(in, name, input, args, found);
}

bool builtin_test(Interpreter& in, const std::string& name, const Value& input, CallArgs& args, bool* found) {
  return run_test(in, name, input, args, found);
}

Value bound_method(Interpreter& in, const Value& object, const std::string& name) {
  if (object.is_string()) return string_method(object.s, name);
  if (object.is_dict()) return dict_method(object, name);
  if (object.is_list()) return list_method(object, name);
  return Value::undefined();
}

void add_builtin_globals(Scope& globals) {
  globals.vars["range"] = Value::function("range", [](Interpreter& in, CallArgs& a) {
    if (a.positional.empty() || a.positional.size() > 3) in.fail("range expected 1 to 3 arguments");
    int64_t start = 0, stop, step = 1;
    if (a.positional.size() == 1) {
      stop = int_arg(in, a.positional[0], "range argument", 0);
    } else {
      start = int_arg(in, a.positional[0], "range argument", 0);
      stop = int_arg(in, a.positional[1], "range argument", 0);
      if (a.positional.size() == 3) step = int_arg(in, a.positional[2], "range argument", 1);
    }
    if (step == 0) in.fail("range() arg 3 must not be zero");
    const int64_t count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0) : (start > stop ? (start - stop - step - 1) / -step : 0);
    if (count > 10'000'000) in.fail("range too big");  // the sandbox's MAX_RANGE is 100000; be generous but bounded
    List out;
    for (int64_t i = 0; i < count; ++i) out.push_back(Value::integer(start + i * step));
    return Value::make_list(std::move(out));
  });
  auto make_mapping = [](bool ns) {
    return [ns](Interpreter& in, CallArgs& a) {
      Value d = Value::make_dict();
      d.ns = ns;
      for (const Value& p : a.positional) {
        if (!p.is_dict()) in.fail(ns ? "namespace() takes mappings and keyword arguments" : "dict() takes a mapping and keyword arguments");
        for (const auto& [k, v] : p.dict->items) d.dict->set(k, v);
      }
      for (const auto& [k, v] : a.keyword) d.dict->set(Value::string(k), v);
      return d;
    };
  };
  globals.vars["namespace"] = Value::function("namespace", make_mapping(true));
  globals.vars["dict"] = Value::function("dict", make_mapping(false));
  globals.vars["raise_exception"] = Value::function("raise_exception", [](Interpreter& in, CallArgs& a) -> Value {
    throw TemplateError(to_str(a.get(0, "message")), in.line(), /*raised=*/true);
  });
  globals.vars["strftime_now"] = Value::function("strftime_now", [](Interpreter& in, CallArgs& a) {
    const std::string f = string_arg(in, a.get(0, "format"), "strftime_now format");
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof buf, f.c_str(), &tm);
    return Value::string(std::string(buf, n));
  });
}

}  // namespace qwenrt::chat
