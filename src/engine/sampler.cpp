#include "engine/sampler.h"

#include <algorithm>
#include <cmath>

namespace qwenrt {

int32_t argmax(const float* logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::sample(const float* logits, int64_t n_vocab) {
  if (params_.temperature <= 0.0f) return argmax(logits, n_vocab);
  probs_.resize(static_cast<size_t>(n_vocab));
  const double inv_t = 1.0 / params_.temperature;
  const float max_logit = *std::max_element(logits, logits + n_vocab);
  double sum = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) {
    probs_[static_cast<size_t>(i)] = std::exp((static_cast<double>(logits[i]) - max_logit) * inv_t);
    sum += probs_[static_cast<size_t>(i)];
  }
  double r = uniform() * sum;
  for (int64_t i = 0; i < n_vocab; ++i) {
    r -= probs_[static_cast<size_t>(i)];
    if (r < 0.0) return static_cast<int32_t>(i);
  }
  // Rounding left r >= 0: the last token with non-zero probability.
  for (int64_t i = n_vocab - 1; i >= 0; --i) {
    if (probs_[static_cast<size_t>(i)] > 0.0) return static_cast<int32_t>(i);
  }
  return argmax(logits, n_vocab);
}

}  // namespace qwenrt
