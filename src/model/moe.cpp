#include "model/moe.h"

#include "io/gguf_writer.h"
#include "base/scratch.h"
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

  // The chosen experts' FFNs (and the shared expert's) in grouped passes: every gate and up
  // product of a group of experts, then every down product. An expert's rows are its tokens' rows
  // of x, copied, unless it takes all tokens in order (always so in decode): then x itself, so the
  // products share one quantization of it. Groups bound the scratch on long prompts.
  constexpr int64_t kGroupRows = 2048;
  struct Active {
    int64_t e, n;
    bool all;  // the tokens are 0..n_tok-1 in order
  };
  std::vector<Active> active;
  for (int64_t e = 0; e < E; ++e) {
    const auto& toks = chosen[static_cast<size_t>(e)];
    if (toks.empty()) continue;
    const auto n = static_cast<int64_t>(toks.size());
    bool all = n == n_tok;
    for (int64_t i = 0; all && i < n; ++i) all = toks[static_cast<size_t>(i)].first == i;
    active.push_back({e, n, all});
  }
  const int64_t F = cfg.n_ff;
  const int64_t Fs = w.shared ? w.shared->gate.rows() : 0;
  Scratch<float> shared_gate_up(static_cast<size_t>(2 * n_tok * Fs)), shared_y(static_cast<size_t>(n_tok * Fs > 0 ? n_tok * H : 0));
  std::vector<float> shared_gate(static_cast<size_t>(n_tok));
  std::fill(out, out + n_tok * H, 0.0f);
  for (size_t g0 = 0; g0 < active.size() || (g0 == 0 && w.shared);) {
    size_t g1 = g0;
    int64_t rows = 0, copied = 0;
    while (g1 < active.size() && (g1 == g0 || rows + active[g1].n <= kGroupRows)) {
      rows += active[g1].n;
      if (!active[g1].all) copied += active[g1].n;
      ++g1;
    }
    Scratch<float> xe(static_cast<size_t>(copied * H)), gate(static_cast<size_t>(rows * F)), up(static_cast<size_t>(rows * F)),
        ye(static_cast<size_t>(rows * H));
    std::vector<Weight> ws;  // the experts' [gate, up, down] (stable addresses for the jobs)
    ws.reserve((g1 - g0) * 3);
    std::vector<LinearJob> gate_up, down;
    int64_t at = 0, at_copy = 0;
    for (size_t i = g0; i < g1; ++i) {
      const Active& a = active[i];
      const float* xa = x;
      if (!a.all) {
        float* dst = xe.data() + at_copy * H;
        for (int64_t r = 0; r < a.n; ++r) {
          const int64_t t = chosen[static_cast<size_t>(a.e)][static_cast<size_t>(r)].first;
          std::copy(x + t * H, x + (t + 1) * H, dst + r * H);
        }
        xa = dst;
        at_copy += a.n;
      }
      ws.push_back(w.experts.gate_of(a.e));
      ws.push_back(w.experts.up_of(a.e));
      ws.push_back(w.experts.down_of(a.e));
      const Weight* m = &ws[ws.size() - 3];
      gate_up.push_back({&m[0], xa, a.n, gate.data() + at * F});
      gate_up.push_back({&m[1], xa, a.n, up.data() + at * F});
      down.push_back({&m[2], gate.data() + at * F, a.n, ye.data() + at * H});
      at += a.n;
    }
    const bool with_shared = w.shared && g0 == 0;  // the shared expert rides along with the first group
    float* sg = shared_gate_up.data();
    float* su = sg + n_tok * Fs;
    if (with_shared) {
      gate_up.push_back({&w.shared->gate, x, n_tok, sg});
      gate_up.push_back({&w.shared->up, x, n_tok, su});
      gate_up.push_back({&w.shared_gate, x, n_tok, shared_gate.data()});
      down.push_back({&w.shared->down, sg, n_tok, shared_y.data()});
    }
    linear_many(ctx, gate_up);
    silu_mul(ctx, gate.data(), up.data(), rows * F);
    if (with_shared) silu_mul(ctx, sg, su, n_tok * Fs);
    linear_many(ctx, down);
    at = 0;
    for (size_t i = g0; i < g1; ++i) {
      const Active& a = active[i];
      for (int64_t r = 0; r < a.n; ++r) {
        const auto [t, weight] = chosen[static_cast<size_t>(a.e)][static_cast<size_t>(r)];
        float* o = out + t * H;
        const float* y = ye.data() + (at + r) * H;
        for (int64_t j = 0; j < H; ++j) o[j] += weight * y[j];
      }
      at += a.n;
    }
    if (g1 == g0) break;  // only the shared expert (no token chose any routed one: cannot happen, k >= 1)
    g0 = g1;
  }
  if (w.shared) {
    for (int64_t t = 0; t < n_tok; ++t) {
      const float g = sigmoid(shared_gate[static_cast<size_t>(t)]);
      const float* y = shared_y.data() + t * H;
      for (int64_t j = 0; j < H; ++j) out[t * H + j] += g * y[j];
    }
  }
}

}  // namespace qwenrt
