#pragma once
// Rotary position embedding as the Qwen family applies it: the NeoX half-split rotation (pairs
// (j, j + n_rot/2)) on the first n_rot dims of each head, the rest passed through; optional
// YaRN or linear frequency scaling. Angles are computed in double (pos * inv_freq) and cos/sin
// rounded to float once per batch, so long positions lose no precision.
#include "io/config_reader.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace qwenrt {

struct RopeScaling {
  enum class Type { None, Linear, Yarn };
  Type type = Type::None;
  double factor = 1.0;
  int64_t original_context = 0;  // YaRN original_max_position_embeddings
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  std::optional<double> attention_factor;  // YaRN: explicit attention_factor; else 0.1 ln(s) + 1
  bool truncate = true;                    // YaRN: floor/ceil the correction range (HF default)
};

struct RopeConfig {
  int n_rot = 0;  // rotary dims (even, <= head_dim)
  double theta = 10000.0;
  RopeScaling scaling;
  std::vector<int64_t> mrope_sections;  // Qwen3.5 interleaved M-RoPE; text positions make it plain RoPE
};

// Reads rope_theta, partial_rotary_factor, rope_scaling / rope_parameters (HF) or
// rope.freq_base, rope.dimension_count, rope.scaling.* (GGUF). Unsupported scaling types fail.
RopeConfig parse_rope_config(const ConfigReader& cfg, int64_t head_dim, int64_t max_position_embeddings);

struct RopeFrequencies {
  std::vector<double> inv_freq;  // n_rot / 2
  double attention_factor = 1.0; // multiplies cos and sin
};
RopeFrequencies compute_rope_frequencies(const RopeConfig& config);

// cos/sin (already times the attention factor) for each token of a batch: [n_tok][n_rot/2].
class RopeTable {
 public:
  RopeTable(const RopeFrequencies& freqs, const int32_t* positions, int64_t n_tok);
  int half() const { return half_; }
  const float* cos(int64_t t) const { return cos_.data() + t * half_; }
  const float* sin(int64_t t) const { return sin_.data() + t * half_; }

 private:
  int half_;
  std::vector<float> cos_, sin_;
};

// Rotates the first 2 * half dims of one head vector in place.
void apply_rope(float* x, int half, const float* cos, const float* sin);

}  // namespace qwenrt

namespace qwenrt {
class GgufWriter;
// The rope keys llama.cpp's converter writes: rope.freq_base, and for scaled RoPE
// rope.scaling.{type,factor,original_context_length,yarn_*}.
void write_rope_metadata(GgufWriter& writer, const std::string& arch, const RopeConfig& rope);
}  // namespace qwenrt
