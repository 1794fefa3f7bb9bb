#include "chat/tool_calls.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace qwenrt::chat {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The length of the longest suffix of `s` that `tag` starts with: text that may become the tag.
size_t partial_tag(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n) {
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

// A whole string as a number, or nothing (strtod's leniencies such as "inf", "0x10" or trailing text refused).
bool parse_number(const std::string& s, double& out) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) return false;
  }
  errno = 0;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno == 0 && std::isfinite(out);
}

// A Coder-form parameter value typed by its schema, as vLLM's qwen3_coder parser types it.
json typed_value(const std::string& value, const std::string& type) {
  std::string lower = value;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "null") return nullptr;
  if (type.empty() || type == "string" || type == "str" || type == "text" || type == "enum") return value;
  if (type.starts_with("int") || type.starts_with("uint") || type == "long" || type == "short") {
    double d = 0;
    if (parse_number(value, d) && d == std::floor(d) && std::fabs(d) < 9.0e15 && value.find_first_of(".eE") == std::string::npos) {
      return static_cast<int64_t>(d);
    }
    return value;
  }
  if (type.starts_with("num") || type.starts_with("float") || type == "double") {
    double d = 0;
    if (!parse_number(value, d)) return value;
    if (d == std::floor(d) && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);  // 3.0 -> 3, as vLLM
    return d;
  }
  if (type == "boolean" || type == "bool") {
    if (lower == "true") return true;
    if (lower == "false") return false;
    return value;
  }
  // object, array and anything else: JSON when it parses, else the text.
  json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json(value) : j;
}

bool parse_hermes(std::string_view block, ToolCall& out) {
  const json j = json::parse(block, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  const auto name = j.find("name");
  if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) return false;
  auto args = j.find("arguments");
  if (args == j.end()) args = j.find("parameters");
  json value = json::object();
  if (args != j.end()) {
    value = *args;
    if (value.is_string()) value = json::parse(args->get<std::string>(), nullptr, false);  // arguments written as a JSON string
    if (value.is_discarded() || !value.is_object()) return false;
  }
  out.name = name->get<std::string>();
  out.arguments = python_json(value);
  return true;
}

bool parse_coder(std::string_view block, const ToolSchemas& schemas, ToolCall& out) {
  constexpr std::string_view kFunction = "<function=", kFunctionEnd = "</function>";
  constexpr std::string_view kParam = "<parameter=", kParamEnd = "</parameter>";
  if (!block.starts_with(kFunction)) return false;
  const size_t name_end = block.find('>');
  const size_t body_end = block.rfind(kFunctionEnd);
  if (name_end == std::string_view::npos || body_end == std::string_view::npos || body_end < name_end) return false;
  if (!trim(block.substr(body_end + kFunctionEnd.size())).empty()) return false;
  const std::string name(trim(block.substr(kFunction.size(), name_end - kFunction.size())));
  if (name.empty() || name.find_first_of("<\n") != std::string::npos) return false;
  std::string_view body = block.substr(name_end + 1, body_end - name_end - 1);
  json args = json::object();
  while (true) {
    const size_t p = body.find(kParam);
    if (p == std::string_view::npos) {
      if (!trim(body).empty()) return false;  // stray text inside the function
      break;
    }
    if (!trim(body.substr(0, p)).empty()) return false;
    body.remove_prefix(p + kParam.size());
    const size_t pname_end = body.find('>');
    if (pname_end == std::string_view::npos) return false;
    const std::string pname(trim(body.substr(0, pname_end)));
    if (pname.empty() || pname.find_first_of("<\n") != std::string::npos) return false;
    body.remove_prefix(pname_end + 1);
    // The value ends at </parameter>, or (the closing tag forgotten) at the next parameter.
    size_t end = body.find(kParamEnd);
    const size_t next = body.find(kParam);
    size_t skip = kParamEnd.size();
    if (end == std::string_view::npos || (next != std::string_view::npos && next < end)) {
      end = next == std::string_view::npos ? body.size() : next;
      skip = 0;
    }
    std::string value(body.substr(0, end));
    if (value.starts_with('\n')) value.erase(0, 1);
    if (value.ends_with('\n')) value.pop_back();
    args[pname] = typed_value(value, schemas.parameter_type(name, pname));
    body.remove_prefix(end + skip);
  }
  out.name = name;
  out.arguments = python_json(args);
  return true;
}

void write_python_json(const json& v, std::string& out) {
  if (v.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [k, x] : v.items()) {
      if (!first) out += ", ";
      first = false;
      out += json(k).dump(-1, ' ', false, json::error_handler_t::replace);
      out += ": ";
      write_python_json(x, out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ", ";
      write_python_json(v[i], out);
    }
    out += ']';
  } else {
    out += v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

}  // namespace

std::string python_json(const nlohmann::ordered_json& value) {
  std::string out;
  write_python_json(value, out);
  return out;
}

ToolSchemas::ToolSchemas(const nlohmann::ordered_json& tools) {
  if (!tools.is_array()) return;
  for (const auto& t : tools) {
    if (!t.is_object()) continue;
    const json& f = t.contains("function") && t["function"].is_object() ? t["function"] : t;
    if (!f.contains("name") || !f["name"].is_string()) continue;
    by_name_[f["name"].get<std::string>()] = f.contains("parameters") ? f["parameters"] : json::object();
  }
}

std::string ToolSchemas::parameter_type(const std::string& function, const std::string& parameter) const {
  const auto f = by_name_.find(function);
  if (f == by_name_.end() || !f->is_object()) return "";
  const auto props = f->find("properties");
  if (props == f->end() || !props->is_object()) return "";
  const auto p = props->find(parameter);
  if (p == props->end() || !p->is_object()) return "";
  const auto type = p->find("type");
  if (type == p->end() || !type->is_string()) return "";
  std::string t = type->get<std::string>();
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

bool parse_tool_call_block(std::string_view block, const ToolSchemas& schemas, ToolCall& out) {
  block = trim(block);
  if (block.starts_with('{')) return parse_hermes(block, out);
  return parse_coder(block, schemas, out);
}

void ToolCallStream::release_text(Out& out, std::string_view text, bool final) {
  std::string s = held_space_;
  s += text;
  held_space_.clear();
  if (after_call_) {  // whitespace right after a call is not content
    const size_t first = s.find_first_not_of(" \n\t\r");
    s.erase(0, first == std::string::npos ? s.size() : first);
    if (s.empty()) return;
    after_call_ = false;
  }
  if (!final) {  // hold trailing whitespace: it is dropped if a call follows
    const size_t last = s.find_last_not_of(" \n\t\r");
    const size_t keep = last == std::string::npos ? 0 : last + 1;
    held_space_ = s.substr(keep);
    s.resize(keep);
  }
  out.content += s;
}

ToolCallStream::Out ToolCallStream::push(std::string_view text) {
  Out out;
  pending_ += text;
  while (true) {
    if (!in_call_) {
      const size_t open = pending_.find(kOpen);
      if (open == std::string::npos) {
        const size_t keep = partial_tag(pending_, kOpen);
        release_text(out, std::string_view(pending_).substr(0, pending_.size() - keep), false);
        pending_.erase(0, pending_.size() - keep);
        return out;
      }
      release_text(out, std::string_view(pending_).substr(0, open), false);
      pending_.erase(0, open + kOpen.size());
      in_call_ = true;
      continue;
    }
    // Search only the new text (and a tag's length before it): a long call arrives in many pieces.
    const size_t close = pending_.find(kClose, scanned_ > kClose.size() ? scanned_ - kClose.size() : 0);
    if (close == std::string::npos) {
      scanned_ = pending_.size();
      return out;
    }
    scanned_ = 0;
    ToolCall call;
    if (parse_tool_call_block(std::string_view(pending_).substr(0, close), schemas_, call)) {
      held_space_.clear();  // whitespace before a call is not content
      out.calls.push_back({n_calls_, call.name, ""});
      out.calls.push_back({n_calls_, "", call.arguments});
      ++n_calls_;
      after_call_ = true;
    } else {
      release_text(out, std::string(kOpen) + pending_.substr(0, close + kClose.size()), false);
    }
    pending_.erase(0, close + kClose.size());
    in_call_ = false;
  }
}

ToolCallStream::Out ToolCallStream::finish() {
  Out out = push("");
  std::string rest = in_call_ ? std::string(kOpen) + pending_ : pending_;
  pending_.clear();
  in_call_ = false;
  // Trailing whitespace is content only in a reply without calls.
  if (n_calls_ > 0 && trim(rest).empty()) {
    held_space_.clear();
    return out;
  }
  release_text(out, rest, /*final=*/true);
  return out;
}

ToolParse parse_tool_calls(std::string_view text, const ToolSchemas& schemas) {
  ToolCallStream stream(schemas);
  ToolParse parse;
  auto take = [&](ToolCallStream::Out o) {
    parse.content += o.content;
    for (auto& d : o.calls) {
      if (!d.name.empty()) parse.calls.push_back({d.name, ""});
      parse.calls.back().arguments += d.arguments;
    }
  };
  take(stream.push(text));
  take(stream.finish());
  return parse;
}

}  // namespace qwenrt::chat
