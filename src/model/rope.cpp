#include "model/rope.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace qwenrt {
namespace {

double yarn_mscale(double scale, double mscale = 1.0) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

RopeScaling parse_hf_scaling(const ConfigReader& cfg, const nlohmann::ordered_json& s, const std::string& field,
                             int64_t max_position_embeddings) {
  RopeScaling out;
  auto bad = [&](const std::string& why) { cfg.fail_key({field, ""}, why); };
  std::string type;
  if (s.contains("rope_type") && s["rope_type"].is_string()) type = s["rope_type"].get<std::string>();
  else if (s.contains("type") && s["type"].is_string()) type = s["type"].get<std::string>();
  else bad("has no 'rope_type'");
  auto number = [&](const char* key) -> std::optional<double> {
    if (!s.contains(key) || s[key].is_null()) return std::nullopt;
    if (!s[key].is_number()) bad(fmt::format("has a non-numeric '{}'", key));
    return s[key].get<double>();
  };
  if (type == "default") return out;
  if (type == "linear") {
    out.type = RopeScaling::Type::Linear;
    out.factor = number("factor").value_or(0.0);
    if (!(out.factor > 0.0)) bad("needs a positive 'factor'");
    return out;
  }
  if (type == "yarn") {
    out.type = RopeScaling::Type::Yarn;
    out.factor = number("factor").value_or(0.0);
    if (!(out.factor > 0.0)) bad("needs a positive 'factor'");
    const auto orig = number("original_max_position_embeddings");
    out.original_context = orig ? static_cast<int64_t>(*orig) : max_position_embeddings;
    if (out.original_context <= 0) bad("needs a positive 'original_max_position_embeddings'");
    out.beta_fast = number("beta_fast").value_or(32.0);
    out.beta_slow = number("beta_slow").value_or(1.0);
    const auto mscale = number("mscale");
    const auto mscale_all_dim = number("mscale_all_dim");
    out.attention_factor = number("attention_factor");
    if (!out.attention_factor && mscale && mscale_all_dim) {
      out.attention_factor = yarn_mscale(out.factor, *mscale) / yarn_mscale(out.factor, *mscale_all_dim);
    }
    if (s.contains("truncate") && s["truncate"].is_boolean()) out.truncate = s["truncate"].get<bool>();
    return out;
  }
  cfg.fail_key({field, ""}, "has rope_type '" + type + "', which qwenrt does not support (default, linear and yarn are supported)");
}

}  // namespace

RopeConfig parse_rope_config(const ConfigReader& cfg, int64_t head_dim, int64_t max_position_embeddings) {
  RopeConfig rc;
  if (cfg.is_gguf()) {
    rc.theta = cfg.get_float_or({"", "rope.freq_base"}, 10000.0);
    rc.n_rot = static_cast<int>(cfg.get_int_or({"", "rope.dimension_count"}, head_dim, 2, head_dim));
    const std::string type = cfg.get_string_or({"", "rope.scaling.type"}, "none");
    if (type == "yarn" || type == "linear") {
      rc.scaling.type = type == "yarn" ? RopeScaling::Type::Yarn : RopeScaling::Type::Linear;
      rc.scaling.factor = cfg.get_float({"", "rope.scaling.factor"});
      if (!(rc.scaling.factor > 0.0)) cfg.fail_key({"", "rope.scaling.factor"}, "must be positive");
      if (rc.scaling.type == RopeScaling::Type::Yarn) {
        rc.scaling.original_context = cfg.get_int({"", "rope.scaling.original_context_length"}, 1, INT32_MAX);
        rc.scaling.beta_fast = cfg.get_float_or({"", "rope.scaling.yarn_beta_fast"}, 32.0);
        rc.scaling.beta_slow = cfg.get_float_or({"", "rope.scaling.yarn_beta_slow"}, 1.0);
        if (cfg.has({"", "rope.scaling.yarn_attn_factor"})) {
          rc.scaling.attention_factor = cfg.get_float({"", "rope.scaling.yarn_attn_factor"});
        }
      }
    } else if (type != "none") {
      cfg.fail_key({"", "rope.scaling.type"}, "is '" + type + "', which qwenrt does not support (none, linear, yarn)");
    }
    if (auto sections = cfg.get_int_list({"", "rope.dimension_sections"})) rc.mrope_sections = *sections;
  } else {
    const nlohmann::ordered_json* params = cfg.json_value("rope_parameters");
    if (params && !params->is_object() && !params->is_null()) cfg.fail_key({"rope_parameters", ""}, "is not an object");
    auto param = [&](const char* key) -> const nlohmann::ordered_json* {
      if (!params || !params->is_object() || !params->contains(key)) return nullptr;
      return &(*params)[key];
    };
    if (cfg.has({"rope_theta", ""})) {
      rc.theta = cfg.get_float({"rope_theta", ""});
    } else if (const auto* t = param("rope_theta")) {
      if (!t->is_number()) cfg.fail_key({"rope_parameters", ""}, "has a non-numeric rope_theta");
      rc.theta = t->get<double>();
    }
    double partial = 1.0;
    if (cfg.has({"partial_rotary_factor", ""})) {
      partial = cfg.get_float({"partial_rotary_factor", ""});
    } else if (const auto* p = param("partial_rotary_factor")) {
      if (!p->is_number()) cfg.fail_key({"rope_parameters", ""}, "has a non-numeric partial_rotary_factor");
      partial = p->get<double>();
    }
    if (!(partial > 0.0 && partial <= 1.0)) cfg.fail_key({"partial_rotary_factor", ""}, "must be in (0, 1]");
    rc.n_rot = static_cast<int>(static_cast<double>(head_dim) * partial);
    const nlohmann::ordered_json* scaling = cfg.json_value("rope_scaling");
    std::string field = "rope_scaling";
    if (scaling && scaling->is_null()) scaling = nullptr;
    if (!scaling && params && params->is_object()) {
      scaling = params;
      field = "rope_parameters";
    }
    if (scaling) {
      if (!scaling->is_object()) cfg.fail_key({field, ""}, "is not an object");
      rc.scaling = parse_hf_scaling(cfg, *scaling, field, max_position_embeddings);
      if (scaling->contains("mrope_section")) {
        for (const auto& v : (*scaling)["mrope_section"]) {
          if (!v.is_number_integer()) cfg.fail_key({field, ""}, "has a non-integer mrope_section entry");
          rc.mrope_sections.push_back(v.get<int64_t>());
        }
      }
    }
  }
  if (!(rc.theta > 0.0)) fail("{}: the RoPE base (rope_theta) must be positive, found {}", cfg.origin(), rc.theta);
  if (rc.n_rot < 2 || rc.n_rot % 2 != 0 || rc.n_rot > head_dim) {
    fail("{}: rotary dimension {} must be even and in [2, head_dim = {}]", cfg.origin(), rc.n_rot, head_dim);
  }
  return rc;
}

RopeFrequencies compute_rope_frequencies(const RopeConfig& c) {
  RopeFrequencies f;
  const int half = c.n_rot / 2;
  const double d = c.n_rot;
  f.inv_freq.resize(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) f.inv_freq[static_cast<size_t>(i)] = std::pow(c.theta, -2.0 * i / d);
  if (c.scaling.type == RopeScaling::Type::Linear) {
    for (double& v : f.inv_freq) v /= c.scaling.factor;
  } else if (c.scaling.type == RopeScaling::Type::Yarn) {
    // transformers _compute_yarn_parameters: blend interpolated (f / s) and extrapolated (f)
    // frequencies with a linear ramp over the pair index between the correction dims.
    const double s = c.scaling.factor;
    const double n = static_cast<double>(c.scaling.original_context);
    auto corr = [&](double rotations) { return d * std::log(n / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(c.theta)); };
    double low = corr(c.scaling.beta_fast);
    double high = corr(c.scaling.beta_slow);
    if (c.scaling.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, d - 1.0);
    if (low == high) high += 0.001;
    for (int i = 0; i < half; ++i) {
      const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
      double& v = f.inv_freq[static_cast<size_t>(i)];
      v = v * (1.0 - ramp) + (v / s) * ramp;
    }
    f.attention_factor = c.scaling.attention_factor.value_or(yarn_mscale(s));
  }
  return f;
}

RopeTable::RopeTable(const RopeFrequencies& freqs, const int32_t* positions, int64_t n_tok)
    : half_(static_cast<int>(freqs.inv_freq.size())) {
  cos_.resize(static_cast<size_t>(n_tok * half_));
  sin_.resize(static_cast<size_t>(n_tok * half_));
  for (int64_t t = 0; t < n_tok; ++t) {
    for (int i = 0; i < half_; ++i) {
      const double angle = static_cast<double>(positions[t]) * freqs.inv_freq[static_cast<size_t>(i)];
      cos_[static_cast<size_t>(t * half_ + i)] = static_cast<float>(std::cos(angle) * freqs.attention_factor);
      sin_[static_cast<size_t>(t * half_ + i)] = static_cast<float>(std::sin(angle) * freqs.attention_factor);
    }
  }
}

void apply_rope(float* x, int half, const float* cos, const float* sin) {
  for (int i = 0; i < half; ++i) {
    const float a = x[i];
    const float b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

}  // namespace qwenrt

#include "io/gguf_writer.h"

namespace qwenrt {

void write_rope_metadata(GgufWriter& w, const std::string& arch, const RopeConfig& rope) {
  w.set(arch + ".rope.freq_base", GgufValue::f32(static_cast<float>(rope.theta)));
  const RopeScaling& s = rope.scaling;
  if (s.type == RopeScaling::Type::None) return;
  w.set(arch + ".rope.scaling.type", GgufValue::string(s.type == RopeScaling::Type::Yarn ? "yarn" : "linear"));
  w.set(arch + ".rope.scaling.factor", GgufValue::f32(static_cast<float>(s.factor)));
  if (s.type != RopeScaling::Type::Yarn) return;
  w.set(arch + ".rope.scaling.original_context_length", GgufValue::u32(static_cast<uint32_t>(s.original_context)));
  if (s.attention_factor) w.set(arch + ".rope.scaling.yarn_attn_factor", GgufValue::f32(static_cast<float>(*s.attention_factor)));
  if (s.beta_fast != 32.0) w.set(arch + ".rope.scaling.yarn_beta_fast", GgufValue::f32(static_cast<float>(s.beta_fast)));
  if (s.beta_slow != 1.0) w.set(arch + ".rope.scaling.yarn_beta_slow", GgufValue::f32(static_cast<float>(s.beta_slow)));
}

}  // namespace qwenrt
