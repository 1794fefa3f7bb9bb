#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace qwenrt {
namespace {

TEST(Sampler, GreedyTakesTheFirstMaximum) {
  const float logits[] = {0.5f, 2.0f, -1.0f, 2.0f};
  Sampler s({0.0f, 1});
  EXPECT_EQ(s.sample(logits, 4), 1);
  EXPECT_EQ(argmax(logits, 4), 1);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[static_cast<size_t>(i)] = std::sin(static_cast<float>(i));
  auto draw = [&](uint64_t seed) {
    Sampler s({1.0f, seed});
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(logits.data(), 50));
    return out;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  // p = softmax(logits / T): with T = 0.5 the logits {0, ln 2, ln 4} give p proportional to 1, 4, 16.
  const float logits[] = {0.0f, std::log(2.0f), std::log(4.0f)};
  Sampler s({0.5f, 123});
  std::map<int, int> counts;
  const int n = 21000;
  for (int i = 0; i < n; ++i) counts[s.sample(logits, 3)]++;
  const double expect[] = {1.0 / 21, 4.0 / 21, 16.0 / 21};
  for (int t = 0; t < 3; ++t) {
    const double p = expect[t];
    const double sigma = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(counts[t] / static_cast<double>(n), p, 5 * sigma) << t;  // 5 sigma: fails ~1 in 2 million
  }
}

TEST(Sampler, NeverPicksAnImpossibleToken) {
  const float logits[] = {-INFINITY, 0.0f, -INFINITY};
  Sampler s({1.0f, 3});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(s.sample(logits, 3), 1);
}

}  // namespace
}  // namespace qwenrt
