#include "io/config_reader.h"

#include "base/error.h"

namespace qwenrt {
namespace {

const char* json_type_name(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

}  // namespace

ConfigReader ConfigReader::from_json(const nlohmann::ordered_json& object, std::string origin) {
  ConfigReader r;
  r.json_ = &object;
  r.origin_ = std::move(origin);
  return r;
}

ConfigReader ConfigReader::from_gguf(const GgufFile& file, std::string arch) {
  ConfigReader r;
  r.gguf_ = &file;
  r.arch_ = std::move(arch);
  r.origin_ = file.path();
  return r;
}

std::string ConfigReader::full_key(ConfigKey key) const {
  if (!gguf_) return std::string(key.hf);
  if (key.gguf.starts_with("general.") || key.gguf.starts_with("tokenizer.")) return std::string(key.gguf);
  return arch_ + "." + std::string(key.gguf);
}

void ConfigReader::fail_key(ConfigKey key, const std::string& why) const {
  fail("{}: {} '{}' {}", origin_, gguf_ ? "metadata key" : "key", full_key(key), why);
}

const nlohmann::ordered_json* ConfigReader::json_value(std::string_view key) const {
  if (!json_ || key.empty() || !json_->is_object()) return nullptr;
  auto it = json_->find(std::string(key));
  return it == json_->end() ? nullptr : &*it;
}

const GgufValue* ConfigReader::gguf_value(std::string_view key) const {
  if (!gguf_ || key.empty()) return nullptr;
  return gguf_->find(full_key({"", key}));
}

bool ConfigReader::has(ConfigKey key) const {
  if (gguf_) return !key.gguf.empty() && gguf_value(key.gguf) != nullptr;
  const nlohmann::ordered_json* v = json_value(key.hf);
  return v && !v->is_null();
}

int64_t ConfigReader::get_int(ConfigKey key, int64_t min, int64_t max) const {
  int64_t value = 0;
  if (gguf_) {
    const GgufValue* v = gguf_value(key.gguf);
    if (!v) fail_key(key, "is missing");
    if (!v->is_integer()) fail_key(key, fmt::format("has type {}, expected an integer", gguf_type_name(v->type)));
    value = v->i;
  } else {
    const nlohmann::ordered_json* v = json_value(key.hf);
    if (!v || v->is_null()) fail_key(key, "is missing");
    if (!v->is_number_integer()) fail_key(key, fmt::format("is {}, expected an integer", json_type_name(*v)));
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) fail_key(key, "is too large");
    value = v->get<int64_t>();
  }
  if (value < min || value > max) fail_key(key, fmt::format("is {}, expected a value in [{}, {}]", value, min, max));
  return value;
}

int64_t ConfigReader::get_int_or(ConfigKey key, int64_t fallback, int64_t min, int64_t max) const {
  return has(key) ? get_int(key, min, max) : fallback;
}

double ConfigReader::get_float(ConfigKey key) const {
  if (gguf_) {
    const GgufValue* v = gguf_value(key.gguf);
    if (!v) fail_key(key, "is missing");
    if (v->is_float()) return v->f;
    if (v->is_integer()) return static_cast<double>(v->i);
    fail_key(key, fmt::format("has type {}, expected a number", gguf_type_name(v->type)));
  }
  const nlohmann::ordered_json* v = json_value(key.hf);
  if (!v || v->is_null()) fail_key(key, "is missing");
  if (!v->is_number()) fail_key(key, fmt::format("is {}, expected a number", json_type_name(*v)));
  return v->get<double>();
}

double ConfigReader::get_float_or(ConfigKey key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}

bool ConfigReader::get_bool_or(ConfigKey key, bool fallback) const {
  if (!has(key)) return fallback;
  if (gguf_) {
    const GgufValue* v = gguf_value(key.gguf);
    if (v->type != GgufType::BOOL) fail_key(key, fmt::format("has type {}, expected BOOL", gguf_type_name(v->type)));
    return v->i != 0;
  }
  const nlohmann::ordered_json* v = json_value(key.hf);
  if (!v->is_boolean()) fail_key(key, fmt::format("is {}, expected a boolean", json_type_name(*v)));
  return v->get<bool>();
}

std::string ConfigReader::get_string_or(ConfigKey key, std::string fallback) const {
  if (!has(key)) return fallback;
  if (gguf_) {
    const GgufValue* v = gguf_value(key.gguf);
    if (v->type != GgufType::STRING) fail_key(key, fmt::format("has type {}, expected STRING", gguf_type_name(v->type)));
    return v->s;
  }
  const nlohmann::ordered_json* v = json_value(key.hf);
  if (!v->is_string()) fail_key(key, fmt::format("is {}, expected a string", json_type_name(*v)));
  return v->get<std::string>();
}

std::optional<std::vector<int64_t>> ConfigReader::get_int_list(ConfigKey key) const {
  if (!has(key)) return std::nullopt;
  std::vector<int64_t> out;
  if (gguf_) {
    const GgufValue* v = gguf_value(key.gguf);
    if (v->type != GgufType::ARRAY || !v->arr.floats.empty() || !v->arr.strings.empty() || !v->arr.arrays.empty()) {
      fail_key(key, "is not an array of integers");
    }
    return v->arr.ints;
  }
  const nlohmann::ordered_json* v = json_value(key.hf);
  if (!v->is_array()) fail_key(key, fmt::format("is {}, expected an array of integers", json_type_name(*v)));
  for (const auto& e : *v) {
    if (!e.is_number_integer()) fail_key(key, "has a non-integer entry");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

ConfigReader ConfigReader::sub_object(std::string_view key) const {
  QW_CHECK(!gguf_);
  const nlohmann::ordered_json* v = json_value(key);
  if (!v || !v->is_object()) fail_key({key, ""}, "is missing or not an object");
  return from_json(*v, origin_ + ": " + std::string(key));
}

}  // namespace qwenrt
