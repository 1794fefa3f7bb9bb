// The blocks of the MoE and hybrid models, against independent transcriptions of their
// definitions: the chunked delta rule against the token-by-token recurrence (any chunk size, any
// starting state), and top-k routing against hand-computed softmax weights.
#include "model/gated_delta_net.h"
#include "model/moe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace qwenrt {
namespace {

struct DeltaInputs {
  std::vector<float> q, k, v, beta, g, S0;
};

DeltaInputs random_inputs(int64_t n, int64_t dk, int64_t dv, uint32_t seed, float decay_scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  DeltaInputs in;
  auto fill = [&](std::vector<float>& x, size_t size) {
    x.resize(size);
    for (auto& e : x) e = normal(rng);
  };
  fill(in.q, static_cast<size_t>(n * dk));
  fill(in.k, static_cast<size_t>(n * dk));
  fill(in.v, static_cast<size_t>(n * dv));
  fill(in.S0, static_cast<size_t>(dk * dv));
  for (int64_t t = 0; t < n; ++t) {  // unit-norm k, q scaled as the model does
    double qs = 0, ks = 0;
    for (int64_t i = 0; i < dk; ++i) {
      qs += in.q[static_cast<size_t>(t * dk + i)] * in.q[static_cast<size_t>(t * dk + i)];
      ks += in.k[static_cast<size_t>(t * dk + i)] * in.k[static_cast<size_t>(t * dk + i)];
    }
    for (int64_t i = 0; i < dk; ++i) {
      in.q[static_cast<size_t>(t * dk + i)] /= static_cast<float>(std::sqrt(qs) * std::sqrt(static_cast<double>(dk)));
      in.k[static_cast<size_t>(t * dk + i)] /= static_cast<float>(std::sqrt(ks));
    }
    in.beta.push_back(1.0f / (1.0f + std::exp(-normal(rng))));
    in.g.push_back(-decay_scale * std::fabs(normal(rng)));
  }
  return in;
}

// The recurrence in double, straight from MODELS.md 4.3(f).
void reference(const DeltaInputs& in, int64_t n, int64_t dk, int64_t dv, std::vector<double>& S, std::vector<double>& o) {
  S.assign(in.S0.begin(), in.S0.end());
  o.assign(static_cast<size_t>(n * dv), 0.0);
  for (int64_t t = 0; t < n; ++t) {
    const double decay = std::exp(static_cast<double>(in.g[static_cast<size_t>(t)]));
    for (auto& s : S) s *= decay;
    std::vector<double> delta(static_cast<size_t>(dv));
    for (int64_t j = 0; j < dv; ++j) {
      double m = 0;
      for (int64_t i = 0; i < dk; ++i) m += S[static_cast<size_t>(i * dv + j)] * in.k[static_cast<size_t>(t * dk + i)];
      delta[static_cast<size_t>(j)] = in.beta[static_cast<size_t>(t)] * (in.v[static_cast<size_t>(t * dv + j)] - m);
    }
    for (int64_t i = 0; i < dk; ++i) {
      for (int64_t j = 0; j < dv; ++j) S[static_cast<size_t>(i * dv + j)] += in.k[static_cast<size_t>(t * dk + i)] * delta[static_cast<size_t>(j)];
    }
    for (int64_t j = 0; j < dv; ++j) {
      double acc = 0;
      for (int64_t i = 0; i < dk; ++i) acc += S[static_cast<size_t>(i * dv + j)] * in.q[static_cast<size_t>(t * dk + i)];
      o[static_cast<size_t>(t * dv + j)] = acc;
    }
  }
}

TEST(DeltaRule, ChunkedAndRecurrentMatchTheDefinition) {
  const int64_t dk = 16, dv = 12;
  for (int64_t n : {1, 2, 5, 63, 64, 65, 100, 130}) {
    for (float decay : {0.05f, 1.0f, 8.0f}) {  // strong decay: exp(G) underflows inside a chunk
      const DeltaInputs in = random_inputs(n, dk, dv, static_cast<uint32_t>(n * 10 + decay), decay);
      std::vector<double> S_ref, o_ref;
      reference(in, n, dk, dv, S_ref, o_ref);
      for (const kernels::KernelTable* kt : {&kernels::scalar_kernels(), &kernels::kernel_table()}) {
        for (int chunk : {0, 1, 7, 64}) {
          std::vector<float> S(in.S0), o(static_cast<size_t>(n * dv));
          if (chunk == 0) {
            delta_rule_recurrent(*kt, n, dk, dv, in.q.data(), in.k.data(), in.v.data(), in.beta.data(), in.g.data(), S.data(),
                                 o.data());
          } else {
            delta_rule_chunked(*kt, n, dk, dv, chunk, in.q.data(), in.k.data(), in.v.data(), in.beta.data(), in.g.data(),
                               S.data(), o.data());
          }
          const char* isa = kernels::isa_name(kt->isa);
          for (size_t i = 0; i < o.size(); ++i) ASSERT_NEAR(o[i], o_ref[i], 1e-4) << isa << " n=" << n << " chunk=" << chunk << " i=" << i;
          for (size_t i = 0; i < S.size(); ++i) ASSERT_NEAR(S[i], S_ref[i], 1e-4) << isa << " n=" << n << " chunk=" << chunk;
        }
      }
    }
  }
}

TEST(MoeRouting, SoftmaxTopKAndRenormalisation) {
  const float logits[] = {1.0f, 3.0f, 0.5f, 3.0f, 2.0f};
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l));
  const Routing plain = route(logits, 5, 3, false);
  // Top 3: experts 1 and 3 (tied, lower id first), then 4.
  EXPECT_EQ(plain.experts, (std::vector<int32_t>{1, 3, 4}));
  EXPECT_NEAR(plain.weights[0], std::exp(3.0) / z, 1e-7);
  EXPECT_NEAR(plain.weights[2], std::exp(2.0) / z, 1e-7);
  const Routing norm = route(logits, 5, 3, true);
  const double kept = 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(norm.weights[0], std::exp(3.0) / kept, 1e-7);
  EXPECT_NEAR(norm.weights[0] + norm.weights[1] + norm.weights[2], 1.0, 1e-6);
}

TEST(GdnConfig, ValueHeadsReadTheirKeyHead) {
  GdnConfig c;
  c.n_k_heads = 2;
  c.n_v_heads = 6;
  EXPECT_EQ(c.key_head_of(0), 0);  // grouped: heads 0, 1, 2 read key head 0
  EXPECT_EQ(c.key_head_of(2), 0);
  EXPECT_EQ(c.key_head_of(3), 1);
  c.value_heads_tiled = true;  // tiled: 0, 2, 4 read key head 0
  EXPECT_EQ(c.key_head_of(1), 1);
  EXPECT_EQ(c.key_head_of(4), 0);
}

}  // namespace
}  // namespace qwenrt
