#include "engine/sampler.h"
#include "engine/stop_strings.h"

#include <gtest/gtest.h>

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace qwenrt {
namespace {

TEST(Sampler, GreedyTakesTheFirstMaximum) {
  const float logits[] = {0.5f, 2.0f, -1.0f, 2.0f};
  Sampler s({.temperature = 0.0f, .seed = 1});
  EXPECT_EQ(s.sample(logits, 4), 1);
  EXPECT_EQ(argmax(logits, 4), 1);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[static_cast<size_t>(i)] = std::sin(static_cast<float>(i));
  auto draw = [&](uint64_t seed) {
    Sampler s({.temperature = 1.0f, .seed = seed});
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
  Sampler s({.temperature = 0.5f, .seed = 123});
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
  Sampler s({.temperature = 1.0f, .seed = 3});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(s.sample(logits, 3), 1);
}

// The set a sampler may draw from, as sorted ids.
std::vector<int32_t> support(const Sampler& s) {
  std::vector<int32_t> ids;
  for (const Candidate& c : s.candidates()) ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<float> probe_logits() {
  // softmax at T = 1 of ln{1, 2, 3, 4, 10, 20, 40, 20}: p = {1, 2, 3, 4, 10, 20, 40, 20} / 100.
  std::vector<float> l;
  for (float w : {1.f, 2.f, 3.f, 4.f, 10.f, 20.f, 40.f, 20.f}) l.push_back(std::log(w));
  return l;
}

TEST(Sampler, TopKKeepsExactlyTheKMostLikelyTiesByLowerId) {
  const std::vector<float> l = probe_logits();
  Sampler s({.temperature = 1.0f, .top_k = 3, .seed = 1});
  s.sample(l.data(), 8);
  EXPECT_EQ(support(s), (std::vector<int32_t>{5, 6, 7}));  // 40, then the tie 20/20
  Sampler two({.temperature = 1.0f, .top_k = 2, .seed = 1});
  two.sample(l.data(), 8);
  EXPECT_EQ(support(two), (std::vector<int32_t>{5, 6}));  // of the tied pair, the lower id
  float total = 0;
  for (const Candidate& c : two.candidates()) total += c.p;
  EXPECT_NEAR(total, 1.0f, 1e-6);
  for (const Candidate& c : two.candidates()) EXPECT_NEAR(c.p, c.id == 6 ? 40.0 / 60 : 20.0 / 60, 1e-6);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingTheMass) {
  const std::vector<float> l = probe_logits();
  struct Case {
    float top_p;
    std::vector<int32_t> kept;
  } cases[] = {
      {0.40f, {6}},           // 0.40 alone reaches 0.40
      {0.41f, {5, 6}},        // 0.40 + 0.20 (id 5 before id 7 on the tie)
      {0.59f, {5, 6}},        //
      {0.61f, {5, 6, 7}},     //
      {0.85f, {4, 5, 6, 7}},  // 0.80 + 0.10 = 0.90
      {0.01f, {6}},           // never empty
  };
  for (const Case& c : cases) {
    Sampler s({.temperature = 1.0f, .top_p = c.top_p, .seed = 1});
    s.sample(l.data(), 8);
    EXPECT_EQ(support(s), c.kept) << "top_p " << c.top_p;
  }
}

TEST(Sampler, TopPSortsOnlyAsFarAsNeededOnALargeVocabulary) {
  // 100000 tokens with a long flat tail: top-p must still find the exact set.
  std::vector<float> l(100000, 0.0f);
  for (int i = 0; i < 1000; ++i) l[static_cast<size_t>(i) * 97] = 5.0f;  // 1000 tokens of weight e^5
  const double head = 1000 * std::exp(5.0), tail = 99000.0;
  const float top_p = static_cast<float>(head / (head + tail)) * 0.999f;  // just inside the head
  Sampler s({.temperature = 1.0f, .top_p = top_p, .seed = 4});
  const int32_t t = s.sample(l.data(), 100000);
  EXPECT_EQ(t % 97, 0);
  EXPECT_EQ(s.candidates().size(), 1000u);
}

TEST(Sampler, MinPKeepsTokensWithinAFractionOfTheTop) {
  const std::vector<float> l = probe_logits();
  Sampler s({.temperature = 1.0f, .min_p = 0.25f, .seed = 1});  // threshold 0.25 * 0.40 = 0.10
  s.sample(l.data(), 8);
  EXPECT_EQ(support(s), (std::vector<int32_t>{4, 5, 6, 7}));
  // Combined: top_k 3 then min_p 0.6 (threshold 0.6 * 40/80 of the renormalised top-3) leaves id 6.
  Sampler both({.temperature = 1.0f, .top_k = 3, .min_p = 0.6f, .seed = 1});
  both.sample(l.data(), 8);
  EXPECT_EQ(support(both), (std::vector<int32_t>{6}));
}

TEST(Sampler, TemperatureAppliesBeforeTopP) {
  // At T = 0.5 the probabilities are proportional to w^2: 1600 of 2530 for id 6 (0.63), which
  // alone reaches top_p 0.6; at T = 1 it has 0.40 and needs id 5 too for 0.59.
  const std::vector<float> l = probe_logits();
  Sampler cold({.temperature = 0.5f, .top_p = 0.6f, .seed = 1});
  cold.sample(l.data(), 8);
  EXPECT_EQ(support(cold), (std::vector<int32_t>{6}));
  Sampler warm({.temperature = 1.0f, .top_p = 0.59f, .seed = 1});
  warm.sample(l.data(), 8);
  EXPECT_EQ(support(warm), (std::vector<int32_t>{5, 6}));
}

TEST(Sampler, MaskedFrequenciesFollowTheRenormalisedDistribution) {
  const std::vector<float> l = probe_logits();
  Sampler s({.temperature = 1.0f, .top_k = 4, .seed = 99});  // {4,5,6,7}: 10, 20, 40, 20 of 90
  std::map<int, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) counts[s.sample(l.data(), 8)]++;
  EXPECT_EQ(counts.size(), 4u);
  const std::map<int, double> expect = {{4, 10 / 90.0}, {5, 20 / 90.0}, {6, 40 / 90.0}, {7, 20 / 90.0}};
  for (const auto& [id, p] : expect) {
    const double sigma = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(counts[id] / static_cast<double>(n), p, 5 * sigma) << id;
  }
}

TEST(Sampler, PenaltiesFollowHuggingFaceAndOpenAi) {
  // Greedy makes the penalised logits observable through the argmax.
  const float logits[] = {2.0f, 1.9f, -1.0f, -1.05f};
  {
    Sampler s({.repetition_penalty = 1.1f});
    s.set_prompt(std::vector<int32_t>{0});
    EXPECT_EQ(s.sample(logits, 4), 1);  // 2.0 / 1.1 = 1.82 < 1.9
  }
  {
    const float negative[] = {-1.0f, -1.05f};
    Sampler s({.repetition_penalty = 1.1f});
    s.accept(0);  // an output token counts too: -1.0 * 1.1 = -1.1 < -1.05
    EXPECT_EQ(s.sample(negative, 2), 1);
  }
  {
    Sampler s({.presence_penalty = 0.05f});
    s.set_prompt(std::vector<int32_t>{0});  // presence counts output tokens only
    EXPECT_EQ(s.sample(logits, 4), 0);
    s.accept(0);
    s.accept(0);
    EXPECT_EQ(s.sample(logits, 4), 0);  // 2.0 - 0.05 = 1.95 > 1.9: once, however many times
    Sampler more({.presence_penalty = 0.2f});
    more.accept(0);
    EXPECT_EQ(more.sample(logits, 4), 1);
  }
  {
    Sampler s({.frequency_penalty = 0.04f});
    s.accept(0);
    EXPECT_EQ(s.sample(logits, 4), 0);  // 2.0 - 0.04 = 1.96
    s.accept(0);
    s.accept(0);
    EXPECT_EQ(s.sample(logits, 4), 1);  // 2.0 - 0.12 = 1.88
  }
}

TEST(Sampler, OutOfRangeParametersAreRefusedWithTheirName) {
  auto message = [](SamplingParams p) {
    try {
      Sampler s(p);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({.temperature = -1.0f}).find("temperature"), std::string::npos);
  EXPECT_NE(message({.top_k = -2}).find("top_k"), std::string::npos);
  EXPECT_NE(message({.top_p = 0.0f}).find("top_p"), std::string::npos);
  EXPECT_NE(message({.top_p = 1.5f}).find("top_p"), std::string::npos);
  EXPECT_NE(message({.min_p = 2.0f}).find("min_p"), std::string::npos);
  EXPECT_NE(message({.presence_penalty = 3.0f}).find("presence_penalty"), std::string::npos);
  EXPECT_NE(message({.frequency_penalty = NAN}).find("frequency_penalty"), std::string::npos);
  EXPECT_NE(message({.repetition_penalty = 0.0f}).find("repetition_penalty"), std::string::npos);
  EXPECT_EQ(message({.temperature = 0.7f, .top_k = 20, .top_p = 0.8f}), "");
}

}  // namespace
}  // namespace qwenrt

namespace qwenrt {
namespace {

// Feeds pieces and returns everything released, with "|" where finish() was called.
std::string stream(StopStrings& s, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += s.push(p);
  return out + "|" + s.finish();
}

TEST(StopStrings, PassesTextThroughWhenNothingMatches) {
  StopStrings s({"STOP"});
  EXPECT_EQ(s.push("hello "), "hello ");
  EXPECT_EQ(s.push("wor"), "wor");
  EXPECT_EQ(s.push("ld S"), "ld ");  // "S" might start STOP
  EXPECT_EQ(s.push("o"), "So");      // "So" cannot
  EXPECT_FALSE(s.stopped());
}

TEST(StopStrings, MatchesAcrossPiecesAndDropsTheRest) {
  StopStrings s({"</answer>"});
  EXPECT_EQ(stream(s, {"the answer is 4", "</ans", "wer> and more", " text"}), "the answer is 4|");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.matched(), "</answer>");
}

TEST(StopStrings, HeldBackTextIsReleasedAtTheEnd) {
  StopStrings s({"\n\nUser:"});
  EXPECT_EQ(stream(s, {"done.", "\n", "\nUs"}), "done.|\n\nUs");
  EXPECT_FALSE(s.stopped());
}

TEST(StopStrings, EarliestOfSeveralWinsAndEmptyStopsAreIgnored) {
  StopStrings s({"", "world", "lo w"});
  EXPECT_EQ(stream(s, {"hello world"}), "hel|");
  EXPECT_EQ(s.matched(), "lo w");
  StopStrings none({});
  EXPECT_EQ(stream(none, {"a", "b"}), "ab|");
}

TEST(StopStrings, MultibyteTextIsNeverSplit) {
  // Held back and released in whole pieces, so UTF-8 sequences stay intact.
  StopStrings s({"\xE4\xB8\x96\xE7\x95\x8C!"});  // "世界!"
  EXPECT_EQ(stream(s, {"\xE4\xBD\xA0\xE5\xA5\xBD", "\xE4\xB8\x96\xE7\x95\x8C", "?"}),
            "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C?|");
}

}  // namespace
}  // namespace qwenrt
