#pragma once
// Picks the next token from a row of logits, as Hugging Face's and vLLM's samplers define it:
//   1. penalties: repetition_penalty (HF: over prompt and output tokens, a positive logit is
//      divided by it, a negative one multiplied), then presence and frequency penalties
//      (OpenAI: over output tokens, logit -= presence * [count > 0] + frequency * count);
//   2. temperature 0: the argmax (lowest id on ties), done;
//   3. otherwise softmax(logits / T), restricted to the top_k most likely tokens (ties broken by
//      lower id), then to the smallest most-likely set whose mass reaches top_p, then to tokens
//      with at least min_p times the top probability; renormalised and drawn with a seeded
//      64-bit Mersenne Twister, whose output the C++ standard fixes, so a seed gives the same
//      tokens on every platform.
#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace qwenrt {

struct SamplingParams {
  float temperature = 0.0f;  // 0: greedy
  int top_k = 0;             // 0: all tokens
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repetition_penalty = 1.0f;  // 1: off
  uint64_t seed = 0;

  // Throws Error naming the first parameter out of its range.
  void validate() const;
  bool has_penalties() const { return presence_penalty != 0 || frequency_penalty != 0 || repetition_penalty != 1; }
};

struct Candidate {
  int32_t id;
  float p;  // probability after all masks, renormalised
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // The tokens the repetition penalty counts besides the output (the prompt).
  void set_prompt(std::span<const int32_t> tokens);
  // Records a generated token (it counts for the penalties from now on).
  void accept(int32_t token);

  int32_t sample(const float* logits, int64_t n_vocab);

  // The distribution the last non-greedy sample() drew from (in no particular order).
  const std::vector<Candidate>& candidates() const { return candidates_; }
  const SamplingParams& params() const { return params_; }

 private:
  const float* apply_penalties(const float* logits, int64_t n_vocab);
  double uniform();  // [0, 1)

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> in_prompt_;
  std::unordered_map<int32_t, int> output_counts_;
  std::vector<float> penalised_;
  std::vector<Candidate> candidates_;
  std::vector<double> weights_;
};

int32_t argmax(const float* logits, int64_t n);

}  // namespace qwenrt
