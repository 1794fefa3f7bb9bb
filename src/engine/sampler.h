#pragma once
// Picks the next token from a row of logits. Greedy (argmax, lowest id on ties) when the
// temperature is 0; otherwise softmax(logits / T) sampled with a seeded 64-bit Mersenne
// Twister, whose output sequence the C++ standard fixes, so a seed gives the same tokens on
// every platform.
#include <cstdint>
#include <random>
#include <vector>

namespace qwenrt {

struct SamplingParams {
  float temperature = 0.0f;  // 0: greedy
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  int32_t sample(const float* logits, int64_t n_vocab);

 private:
  double uniform();  // [0, 1)
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<double> probs_;
};

int32_t argmax(const float* logits, int64_t n);

}  // namespace qwenrt
