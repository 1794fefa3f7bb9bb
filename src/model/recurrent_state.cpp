#include "model/recurrent_state.h"

#include "base/error.h"

#include <cstring>

namespace qwenrt {

void RecurrentState::ensure(int seq) {
  QW_CHECK(seq >= 0);
  if (static_cast<size_t>(seq) >= seqs_.size()) seqs_.resize(static_cast<size_t>(seq) + 1);
  AlignedBuffer& b = seqs_[static_cast<size_t>(seq)];
  if (b.size() || bytes_per_sequence() == 0) return;
  b.resize(bytes_per_sequence());
  std::memset(b.data(), 0, b.size());
}

void RecurrentState::release(int seq) {
  if (seq >= 0 && static_cast<size_t>(seq) < seqs_.size()) seqs_[static_cast<size_t>(seq)] = AlignedBuffer();
}

float* RecurrentState::conv(int layer, int seq) {
  return seqs_[static_cast<size_t>(seq)].as<float>() + static_cast<size_t>(layer) * static_cast<size_t>(cfg_.conv_floats + cfg_.ssm_floats);
}

float* RecurrentState::ssm(int layer, int seq) { return conv(layer, seq) + cfg_.conv_floats; }

size_t RecurrentState::bytes_in_use() const {
  size_t n = 0;
  for (const auto& b : seqs_) n += b.size();
  return n;
}

}  // namespace qwenrt
