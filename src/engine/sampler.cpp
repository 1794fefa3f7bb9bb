#include "engine/sampler.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>

namespace qwenrt {

void SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) fail("temperature must be a number >= 0, got {}", temperature);
  if (top_k < 0) fail("top_k must be >= 0 (0: off), got {}", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) fail("top_p must be in (0, 1], got {}", top_p);
  if (!(min_p >= 0.0f && min_p <= 1.0f)) fail("min_p must be in [0, 1], got {}", min_p);
  if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f)) fail("presence_penalty must be in [-2, 2], got {}", presence_penalty);
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f)) fail("frequency_penalty must be in [-2, 2], got {}", frequency_penalty);
  if (!(repetition_penalty > 0.0f) || !std::isfinite(repetition_penalty)) {
    fail("repetition_penalty must be a number > 0, got {}", repetition_penalty);
  }
}

int32_t argmax(const float* logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) { params_.validate(); }

void Sampler::set_prompt(std::span<const int32_t> tokens) {
  in_prompt_.clear();
  for (int32_t t : tokens) {
    if (t < 0) continue;
    if (static_cast<size_t>(t) >= in_prompt_.size()) in_prompt_.resize(static_cast<size_t>(t) + 1, 0);
    in_prompt_[static_cast<size_t>(t)] = 1;
  }
}

void Sampler::accept(int32_t token) { ++output_counts_[token]; }

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

const float* Sampler::apply_penalties(const float* logits, int64_t n_vocab) {
  if (!params_.has_penalties()) return logits;
  penalised_.assign(logits, logits + n_vocab);
  auto repeat = [&](size_t t) {
    float& l = penalised_[t];
    l = l > 0 ? l / params_.repetition_penalty : l * params_.repetition_penalty;
  };
  if (params_.repetition_penalty != 1.0f) {
    for (size_t t = 0; t < in_prompt_.size() && t < penalised_.size(); ++t) {
      if (in_prompt_[t]) repeat(t);
    }
  }
  for (const auto& [token, count] : output_counts_) {
    if (token < 0 || token >= n_vocab) continue;
    const auto t = static_cast<size_t>(token);
    const bool counted_in_prompt = t < in_prompt_.size() && in_prompt_[t];
    if (params_.repetition_penalty != 1.0f && !counted_in_prompt) repeat(t);
    penalised_[t] -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(count);
  }
  return penalised_.data();
}

int32_t Sampler::sample(const float* raw_logits, int64_t n_vocab) {
  const float* logits = apply_penalties(raw_logits, n_vocab);
  if (params_.temperature <= 0.0f) return argmax(logits, n_vocab);

  // Most likely first; equal logits by lower id, so the order (and the top-k set) is total.
  auto more_likely = [logits](const Candidate& a, const Candidate& b) {
    return logits[a.id] > logits[b.id] || (logits[a.id] == logits[b.id] && a.id < b.id);
  };
  candidates_.resize(static_cast<size_t>(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i) candidates_[static_cast<size_t>(i)] = {static_cast<int32_t>(i), 0.0f};
  if (params_.top_k > 0 && params_.top_k < n_vocab) {
    std::nth_element(candidates_.begin(), candidates_.begin() + params_.top_k - 1, candidates_.end(), more_likely);
    candidates_.resize(static_cast<size_t>(params_.top_k));
  }

  // Probabilities over the candidates, in double so that tiny tails still add up.
  const double inv_t = 1.0 / params_.temperature;
  float max_logit = -INFINITY;
  for (const Candidate& c : candidates_) max_logit = std::max(max_logit, logits[c.id]);
  if (!std::isfinite(max_logit)) fail("sampling: every token has logit {}", max_logit);
  std::vector<double>& weight = weights_;
  weight.resize(candidates_.size());
  double total = 0.0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    weight[i] = std::exp((static_cast<double>(logits[candidates_[i].id]) - max_logit) * inv_t);
    total += weight[i];
  }
  for (size_t i = 0; i < candidates_.size(); ++i) candidates_[i].p = static_cast<float>(weight[i] / total);

  // Sort only as far as top-p needs: the head of a 150k vocabulary usually holds the mass.
  size_t sorted = 0;
  auto sort_head = [&](size_t m) {
    m = std::min(m, candidates_.size());
    if (m > sorted) {
      std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(m), candidates_.end(), more_likely);
      sorted = m;
    }
  };
  size_t keep = candidates_.size();
  if (params_.top_p < 1.0f) {
    for (size_t m = 256;; m *= 8) {
      sort_head(m);
      double mass = 0.0;
      size_t i = 0;
      // Keep a token while the mass strictly before it is below top_p (HF's TopPLogitsWarper).
      for (; i < sorted && mass < params_.top_p; ++i) mass += candidates_[i].p;
      if (mass >= params_.top_p || sorted == candidates_.size()) {
        keep = std::max<size_t>(i, 1);
        break;
      }
    }
  }
  candidates_.resize(keep);
  if (params_.min_p > 0.0f) {
    float top = 0.0f;
    for (const Candidate& c : candidates_) top = std::max(top, c.p);
    const float threshold = params_.min_p * top;
    const auto end = std::stable_partition(candidates_.begin(), candidates_.end(),
                                           [threshold](const Candidate& c) { return c.p >= threshold; });
    candidates_.erase(end, candidates_.end());
  }

  double mass = 0.0;
  for (const Candidate& c : candidates_) mass += c.p;
  for (Candidate& c : candidates_) c.p = static_cast<float>(c.p / mass);
  double r = uniform();
  for (const Candidate& c : candidates_) {
    r -= c.p;
    if (r < 0.0) return c.id;
  }
  // Rounding left r >= 0: the last token of the set with non-zero probability.
  for (auto it = candidates_.rbegin(); it != candidates_.rend(); ++it) {
    if (it->p > 0.0f) return it->id;
  }
  return candidates_.front().id;
}

}  // namespace qwenrt
