#include "model/moe.h"

#include "io/gguf_writer.h"
#include "model/ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace qwenrt {

MoeConfig read_moe_config(const ConfigReader& cfg, bool default_norm_topk) {
  MoeConfig m;
  m.n_expert = cfg.get_int({"num_experts", "expert_count"}, 1, 1 << 16);
  m.n_expert_used = cfg.get_int({"num_experts_per_tok", "expert_used_count"}, 1, m.n_expert);
  m.n_ff = cfg.get_int({"moe_intermediate_size", "expert_feed_forward_length"}, 1, 1 << 24);
  m.n_ff_shared = cfg.get_int_or({"shared_expert_intermediate_size", "expert_shared_feed_forward_length"}, 0, 0, 1 << 24);
  m.norm_topk = cfg.get_bool_or({"norm_topk_prob", "expert_weights_norm"}, default_norm_topk);
  return m;
}

void write_moe_gguf(GgufWriter& w, const std::string& a, const MoeConfig& m) {
  w.set(a + ".expert_count", GgufValue::u32(static_cast<uint32_t>(m.n_expert)));
  w.set(a + ".expert_used_count", GgufValue::u32(static_cast<uint32_t>(m.n_expert_used)));
  w.set(a + ".expert_feed_forward_length", GgufValue::u32(static_cast<uint32_t>(m.n_ff)));
  if (m.n_ff_shared > 0) {
    w.set(a + ".expert_shared_feed_forward_length", GgufValue::u32(static_cast<uint32_t>(m.n_ff_shared)));
  }
}

MoeWeights bind_moe(WeightBinder& b, int il, const MoeConfig& cfg, int64_t n_embd) {
  const std::string blk = "blk." + std::to_string(il) + ".";
  MoeWeights w;
  w.router = b.matrix(blk + "ffn_gate_inp.weight", {cfg.n_expert, n_embd});
  w.experts = b.experts(il, cfg.n_expert, cfg.n_ff, n_embd);
  if (cfg.n_ff_shared > 0) {
    w.shared = bind_dense_ffn(b, il, cfg.n_ff_shared, n_embd, "_shexp");
    w.shared_gate = b.matrix(blk + "ffn_gate_inp_shexp.weight", {1, n_embd});
  }
  return w;
}

Routing route(const float* logits, int64_t n_expert, int64_t k, bool norm_topk) {
  // Softmax over all experts (in double), then the k largest; ties go to the lower id.
  std::vector<double> p(static_cast<size_t>(n_expert));
  const float mx = *std::max_element(logits, logits + n_expert);
  double sum = 0.0;
  for (int64_t e = 0; e < n_expert; ++e) sum += p[static_cast<size_t>(e)] = std::exp(static_cast<double>(logits[e]) - mx);
  std::vector<int32_t> order(static_cast<size_t>(n_expert));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)] || (p[static_cast<size_t>(a)] == p[static_cast<size_t>(b)] && a < b);
  });
  Routing r;
  double kept = 0.0;
  for (int64_t i = 0; i < k; ++i) kept += p[static_cast<size_t>(order[static_cast<size_t>(i)])];
  for (int64_t i = 0; i < k; ++i) {
    const double prob = p[static_cast<size_t>(order[static_cast<size_t>(i)])] / sum;
    r.experts.push_back(order[static_cast<size_t>(i)]);
    r.weights.push_back(static_cast<float>(norm_topk ? prob * sum / kept : prob));
  }
  return r;
}

void moe_forward(const ExecContext& ctx, const MoeConfig& cfg, const MoeWeights& w, const float* x, int64_t n_tok,
                 float* out, int layer) {
  const int64_t H = w.router.cols(), E = cfg.n_expert;
  std::vector<float> logits(static_cast<size_t>(n_tok * E));
  linear(ctx, w.router, x, n_tok, logits.data());
  ctx.trace("ffn_moe_logits", layer, logits.data(), n_tok, E);

  // Group (token, weight) pairs by expert.
  std::vector<std::vector<std::pair<int64_t, float>>> chosen(static_cast<size_t>(E));
  for (int64_t t = 0; t < n_tok; ++t) {
    const Routing r = route(logits.data() + t * E, E, cfg.n_expert_used, cfg.norm_topk);
    for (size_t i = 0; i < r.experts.size(); ++i) chosen[static_cast<size_t>(r.experts[i])].emplace_back(t, r.weights[i]);
  }

  std::fill(out, out + n_tok * H, 0.0f);
  std::vector<float> xe, ye;
  for (int64_t e = 0; e < E; ++e) {
    const auto& toks = chosen[static_cast<size_t>(e)];
    if (toks.empty()) continue;
    const auto n = static_cast<int64_t>(toks.size());
    xe.resize(static_cast<size_t>(n * H));
    for (int64_t i = 0; i < n; ++i) {
      std::copy(x + toks[static_cast<size_t>(i)].first * H, x + (toks[static_cast<size_t>(i)].first + 1) * H, xe.begin() + i * H);
    }
    ye.resize(static_cast<size_t>(n * H));
    const DenseFfnWeights expert{w.experts.gate_of(e), w.experts.up_of(e), w.experts.down_of(e)};
    dense_ffn_forward(ctx, expert, xe.data(), n, ye.data(), layer);
    for (int64_t i = 0; i < n; ++i) {
      const auto [t, weight] = toks[static_cast<size_t>(i)];
      float* o = out + t * H;
      const float* y = ye.data() + i * H;
      for (int64_t j = 0; j < H; ++j) o[j] += weight * y[j];
    }
  }
  if (w.shared) {
    std::vector<float> shared(static_cast<size_t>(n_tok * H)), gate(static_cast<size_t>(n_tok));
    dense_ffn_forward(ctx, *w.shared, x, n_tok, shared.data(), layer);
    linear(ctx, w.shared_gate, x, n_tok, gate.data());
    for (int64_t t = 0; t < n_tok; ++t) {
      const float g = sigmoid(gate[static_cast<size_t>(t)]);
      for (int64_t j = 0; j < H; ++j) out[t * H + j] += g * shared[static_cast<size_t>(t * H + j)];
    }
  }
}

}  // namespace qwenrt
