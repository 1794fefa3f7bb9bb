#pragma once
// Per-sequence state of the linear-attention (Gated DeltaNet) layers: for each layer the last
// K-1 inputs of the causal conv1d ([K-1][conv_dim]) and the delta-rule memory S
// ([n_v_heads][d_k][d_v], f32). Allocated zeroed when a sequence first appears, freed with it.
#include "base/aligned_buffer.h"

#include <cstdint>
#include <vector>

namespace qwenrt {

class RecurrentState {
 public:
  struct Config {
    int n_layers = 0;
    int64_t conv_floats = 0;  // (K - 1) * conv_dim per layer
    int64_t ssm_floats = 0;   // n_v_heads * d_k * d_v per layer
  };
  explicit RecurrentState(const Config& config) : cfg_(config) {}

  int n_layers() const { return cfg_.n_layers; }
  size_t bytes_per_sequence() const {
    return static_cast<size_t>(cfg_.n_layers) * static_cast<size_t>(cfg_.conv_floats + cfg_.ssm_floats) * sizeof(float);
  }
  bool has(int seq) const { return seq >= 0 && static_cast<size_t>(seq) < seqs_.size() && seqs_[static_cast<size_t>(seq)].size(); }
  // Allocates a zeroed state for `seq` if it has none.
  void ensure(int seq);
  void release(int seq);
  float* conv(int layer, int seq);
  float* ssm(int layer, int seq);
  size_t bytes_in_use() const;

 private:
  Config cfg_;
  std::vector<AlignedBuffer> seqs_;
};

}  // namespace qwenrt
