#include "model/gated_delta_net.h"

#include "base/error.h"
#include "io/gguf_writer.h"
#include "model/ops.h"

#include <cmath>
#include <cstring>
#include <map>
#include <vector>

namespace qwenrt {
namespace {

float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

// x * rsqrt(sum x^2 + 1e-6), as HF / FLA normalise q and k.
void l2_normalize(const kernels::KernelTable& kt, float* x, int64_t n, float scale) {
  const double ss = kt.sum_squares_f64(x, n);
  const float s = static_cast<float>(1.0 / std::sqrt(ss + 1e-6)) * scale;
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

}  // namespace

GdnConfig read_gdn_config(const ConfigReader& cfg, float norm_eps) {
  GdnConfig c;
  c.n_k_heads = cfg.get_int({"linear_num_key_heads", "ssm.group_count"}, 1, 1 << 12);
  c.n_v_heads = cfg.get_int({"linear_num_value_heads", "ssm.time_step_rank"}, 1, 1 << 12);
  if (c.n_v_heads % c.n_k_heads != 0) {
    fail("{}: {} linear-attention value heads cannot share {} key heads", cfg.origin(), c.n_v_heads, c.n_k_heads);
  }
  c.d_k = cfg.get_int({"linear_key_head_dim", "ssm.state_size"}, 1, 1 << 12);
  if (cfg.is_gguf()) {
    const int64_t inner = cfg.get_int({"", "ssm.inner_size"}, 1, 1 << 24);
    if (inner % c.n_v_heads != 0) cfg.fail_key({"", "ssm.inner_size"}, "is not a multiple of ssm.time_step_rank");
    c.d_v = inner / c.n_v_heads;
  } else {
    c.d_v = cfg.get_int({"linear_value_head_dim", ""}, 1, 1 << 12);
  }
  c.conv_kernel = cfg.get_int({"linear_conv_kernel_dim", "ssm.conv_kernel"}, 1, 64);
  c.norm_eps = norm_eps;
  return c;
}

void write_gdn_gguf(GgufWriter& w, const std::string& a, const GdnConfig& c, int64_t interval) {
  auto u32 = [](int64_t v) { return GgufValue::u32(static_cast<uint32_t>(v)); };
  w.set(a + ".ssm.conv_kernel", u32(c.conv_kernel));
  w.set(a + ".ssm.state_size", u32(c.d_k));
  w.set(a + ".ssm.group_count", u32(c.n_k_heads));
  w.set(a + ".ssm.time_step_rank", u32(c.n_v_heads));
  w.set(a + ".ssm.inner_size", u32(c.value_dim()));
  w.set(a + ".full_attention_interval", u32(interval));
}

std::vector<bool> hybrid_full_attention_layers(const ConfigReader& cfg, int64_t n_layer, int64_t* interval) {
  *interval = cfg.get_int_or({"full_attention_interval", "full_attention_interval"}, 4, 1, 4096);
  std::vector<bool> full(static_cast<size_t>(n_layer));
  for (int64_t l = 0; l < n_layer; ++l) full[static_cast<size_t>(l)] = (l + 1) % *interval == 0;
  if (const auto* types = cfg.json_value("layer_types")) {
    if (!types->is_array() || static_cast<int64_t>(types->size()) != n_layer) {
      cfg.fail_key({"layer_types", ""}, fmt::format("must list the type of each of the {} layers", n_layer));
    }
    for (int64_t l = 0; l < n_layer; ++l) {
      const auto& t = (*types)[static_cast<size_t>(l)];
      if (t == "full_attention") full[static_cast<size_t>(l)] = true;
      else if (t == "linear_attention") full[static_cast<size_t>(l)] = false;
      else cfg.fail_key({"layer_types", ""}, fmt::format("entry {} is neither full_attention nor linear_attention", l));
    }
  }
  return full;
}

GdnWeights bind_gated_delta_net(WeightBinder& b, int il, const GdnConfig& c, int64_t n_embd) {
  const std::string blk = "blk." + std::to_string(il) + ".";
  const std::string lp = b.layer_prefix(il) + "linear_attn.";
  const int64_t Hk = c.n_k_heads, Hv = c.n_v_heads, r = Hv / Hk;
  GdnWeights w;
  if (b.from_hf() && c.fused_ba) {
    // Qwen3-Next: in_proj_qkvz rows are grouped per key head g as [q_g | k_g | v_g (r d_v) | z_g (r d_v)];
    // canonical attn_qkv is [all q | all k | all v], attn_gate all z (MODELS.md 4.8).
    const int64_t group = 2 * c.d_k + 2 * r * c.d_v;
    const Weight qkvz = b.source_matrix(lp + "in_proj_qkvz.weight", {Hk * group, n_embd});
    std::vector<Weight> q, k, v, z;
    for (int64_t g = 0; g < Hk; ++g) {
      const int64_t base = g * group;
      q.push_back(qkvz.rows_slice(base, base + c.d_k));
      k.push_back(qkvz.rows_slice(base + c.d_k, base + 2 * c.d_k));
      v.push_back(qkvz.rows_slice(base + 2 * c.d_k, base + 2 * c.d_k + r * c.d_v));
      z.push_back(qkvz.rows_slice(base + 2 * c.d_k + r * c.d_v, base + group));
    }
    std::vector<Weight> qkv = q;
    qkv.insert(qkv.end(), k.begin(), k.end());
    qkv.insert(qkv.end(), v.begin(), v.end());
    w.qkv = b.add(blk + "attn_qkv.weight", Weight::concat(qkv, {c.conv_dim(), n_embd}));
    w.gate = b.add(blk + "attn_gate.weight", Weight::concat(z, {c.value_dim(), n_embd}));
    w.ba = b.add(blk + "ssm_ba.weight", b.source_matrix(lp + "in_proj_ba.weight", {2 * Hv, n_embd}));
  } else {
    if (b.from_hf()) {
      w.qkv = b.add(blk + "attn_qkv.weight", b.source_matrix(lp + "in_proj_qkv.weight", {c.conv_dim(), n_embd}));
      w.gate = b.add(blk + "attn_gate.weight", b.source_matrix(lp + "in_proj_z.weight", {c.value_dim(), n_embd}));
    } else {
      w.qkv = b.matrix(blk + "attn_qkv.weight", {c.conv_dim(), n_embd});
      w.gate = b.matrix(blk + "attn_gate.weight", {c.value_dim(), n_embd});
    }
    if (c.fused_ba) {
      w.ba = b.matrix(blk + "ssm_ba.weight", {2 * Hv, n_embd});
    } else if (b.from_hf()) {
      w.beta = b.add(blk + "ssm_beta.weight", b.source_matrix(lp + "in_proj_b.weight", {Hv, n_embd}));
      w.alpha = b.add(blk + "ssm_alpha.weight", b.source_matrix(lp + "in_proj_a.weight", {Hv, n_embd}));
    } else {
      w.beta = b.matrix(blk + "ssm_beta.weight", {Hv, n_embd});
      w.alpha = b.matrix(blk + "ssm_alpha.weight", {Hv, n_embd});
    }
  }
  w.conv = b.f32_matrix(blk + "ssm_conv1d.weight", {c.conv_dim(), c.conv_kernel}, lp + "conv1d.weight",
                        {c.conv_dim(), 1, c.conv_kernel});
  w.dt_bias = b.vector(blk + "ssm_dt.bias", Hv, lp + "dt_bias", nullptr, 0.0f);
  w.a = b.vector(blk + "ssm_a", Hv, lp + "A_log", [](float a_log) { return -std::exp(a_log); }, -1.0f);
  w.norm = b.vector(blk + "ssm_norm.weight", c.d_v, lp + "norm.weight", nullptr, 1.0f);
  w.out = b.from_hf() ? b.add(blk + "ssm_out.weight", b.source_matrix(lp + "out_proj.weight", {n_embd, c.value_dim()}))
                      : b.matrix(blk + "ssm_out.weight", {n_embd, c.value_dim()});
  return w;
}

void delta_rule_recurrent(const kernels::KernelTable& kt, int64_t n, int64_t dk, int64_t dv, const float* q, const float* k,
                          const float* v, const float* beta, const float* g, float* S, float* o) {
  std::vector<float> m(static_cast<size_t>(dv));
  for (int64_t t = 0; t < n; ++t) {
    const float decay = std::exp(g[t]);
    const float* k_t = k + t * dk;
    std::fill(m.begin(), m.end(), 0.0f);
    for (int64_t i = 0; i < dk; ++i) {  // S <- exp(g) S; m = S^T k
      float* row = S + i * dv;
      kt.scale_f32(row, decay, dv);
      kt.axpy_f32(k_t[i], row, m.data(), dv);
    }
    for (int64_t j = 0; j < dv; ++j) m[static_cast<size_t>(j)] = beta[t] * (v[t * dv + j] - m[static_cast<size_t>(j)]);
    float* ot = o + t * dv;
    std::fill(ot, ot + dv, 0.0f);
    for (int64_t i = 0; i < dk; ++i) {  // S <- S + k delta^T; o = S^T q
      float* row = S + i * dv;
      kt.axpy_f32(k_t[i], m.data(), row, dv);
      kt.axpy_f32(q[t * dk + i], row, ot, dv);
    }
  }
}

namespace {

// out_i += sum_j p[i * n + j] v_j for nq rows of out (dim floats each, like the rows of v), in
// tiles of the attention kernel's size.
void accumulate(const kernels::KernelTable& kt, const float* p, int64_t nq, int64_t n, const float* v, int64_t dim, float* out) {
  for (int64_t i = 0; i < nq; i += kernels::kAttnTile) {
    kt.attn_accumulate(p + i * n, static_cast<int>(std::min<int64_t>(kernels::kAttnTile, nq - i)), static_cast<int>(n), v, dim,
                       out + i * dim, dim);
  }
}

}  // namespace

// MODELS.md 4.4, per chunk of n <= C tokens with cumulative log decay G:
//   u_i = b_i v_i - sum_{m<i} L_im u_m,  w_i = b_i e^{G_i} k_i - sum_{m<i} L_im w_m,
//   L_im = b_i (k_i . k_m) e^{G_i - G_m};  v'_i = u_i - S^T w_i;
//   o_i = e^{G_i} S^T q_i + sum_{m<=i} (q_i . k_m) e^{G_i - G_m} v'_m;
//   S <- e^{G_n} S + sum_m e^{G_n - G_m} k_m v'_m^T.
void delta_rule_chunked(const kernels::KernelTable& kt, int64_t n_total, int64_t dk, int64_t dv, int chunk, const float* q,
                        const float* k, const float* v, const float* beta, const float* g, float* S, float* o) {
  const int64_t C = chunk;
  std::vector<float> G(static_cast<size_t>(C)), KK(static_cast<size_t>(C * C)), U(static_cast<size_t>(C * dv)),
      W(static_cast<size_t>(C * dk)), P(static_cast<size_t>(std::max(C, dk) * std::max(C, dk))), E(static_cast<size_t>(C));
  for (int64_t c0 = 0; c0 < n_total; c0 += C) {
    const int64_t n = std::min(C, n_total - c0);
    if (n == 1) {  // a lone token takes the recurrence, as it does alone: the same bits either way
      delta_rule_recurrent(kt, 1, dk, dv, q + c0 * dk, k + c0 * dk, v + c0 * dv, beta + c0, g + c0, S, o + c0 * dv);
      continue;
    }
    const float* qc = q + c0 * dk;
    const float* kc = k + c0 * dk;
    const float* vc = v + c0 * dv;
    const float* bc = beta + c0;
    float* oc = o + c0 * dv;
    float acc = 0.0f;
    for (int64_t i = 0; i < n; ++i) G[static_cast<size_t>(i)] = acc += g[c0 + i];
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t m = 0; m < i; ++m) KK[static_cast<size_t>(i * C + m)] = kt.dot_f32(kc + i * dk, kc + m * dk, dk);
    }
    for (int64_t i = 0; i < n; ++i) {
      float* u = U.data() + i * dv;
      float* wi = W.data() + i * dk;
      const float eg = std::exp(G[static_cast<size_t>(i)]);
      for (int64_t j = 0; j < dv; ++j) u[j] = bc[i] * vc[i * dv + j];
      for (int64_t j = 0; j < dk; ++j) wi[j] = bc[i] * eg * kc[i * dk + j];
      for (int64_t m = 0; m < i; ++m) {
        const float L = bc[i] * KK[static_cast<size_t>(i * C + m)] * std::exp(G[static_cast<size_t>(i)] - G[static_cast<size_t>(m)]);
        kt.axpy_f32(-L, U.data() + m * dv, u, dv);
        kt.axpy_f32(-L, W.data() + m * dk, wi, dk);
      }
    }
    // The sums below are the attention kernel's out_i += sum_j p_ij v_j (one FMA per element and j,
    // in order of j: what a chain of axpys computes, with the sums held in registers instead of
    // stored and reloaded at each j).
    for (int64_t i = 0; i < n * dk; ++i) P[static_cast<size_t>(i)] = -W[static_cast<size_t>(i)];
    accumulate(kt, P.data(), n, dk, S, dv, U.data());  // v'_i = u_i - S^T w_i (U becomes V')
    for (int64_t i = 0; i < n; ++i) {  // o_i = e^{G_i} S^T q_i + sum_{m<=i} s_im v'_m
      float* oi = oc + i * dv;
      const float eg = std::exp(G[static_cast<size_t>(i)]);
      std::fill(oi, oi + dv, 0.0f);
      for (int64_t j = 0; j < dk; ++j) P[static_cast<size_t>(j)] = eg * qc[i * dk + j];
      accumulate(kt, P.data(), 1, dk, S, dv, oi);
      for (int64_t m = 0; m <= i; ++m) {
        P[static_cast<size_t>(m)] = kt.dot_f32(qc + i * dk, kc + m * dk, dk) * std::exp(G[static_cast<size_t>(i)] - G[static_cast<size_t>(m)]);
      }
      accumulate(kt, P.data(), 1, i + 1, U.data(), dv, oi);
    }
    const float eg_n = std::exp(G[static_cast<size_t>(n - 1)]);
    for (int64_t m = 0; m < n; ++m) E[static_cast<size_t>(m)] = std::exp(G[static_cast<size_t>(n - 1)] - G[static_cast<size_t>(m)]);
    for (int64_t j = 0; j < dk; ++j) {  // S <- e^{G_n} S + sum_m e^{G_n - G_m} k_m v'_m^T, row j of S a query
      kt.scale_f32(S + j * dv, eg_n, dv);
      for (int64_t m = 0; m < n; ++m) P[static_cast<size_t>(j * n + m)] = E[static_cast<size_t>(m)] * kc[m * dk + j];
    }
    accumulate(kt, P.data(), dk, n, U.data(), dv, S);
  }
}

void gated_delta_net_forward(const ExecContext& ctx, const GdnConfig& c, const GdnWeights& w, const Batch& batch,
                             RecurrentState& state, int state_layer, const float* x, float* out, int layer) {
  const int64_t T = batch.size();
  const int64_t Hk = c.n_k_heads, Hv = c.n_v_heads, dk = c.d_k, dv = c.d_v, K = c.conv_kernel;
  const int64_t conv_dim = c.conv_dim(), vdim = c.value_dim();
  std::vector<float> qkv(static_cast<size_t>(T * conv_dim)), z(static_cast<size_t>(T * vdim));
  std::vector<float> beta(static_cast<size_t>(T * Hv)), g(static_cast<size_t>(T * Hv));
  {
    // Every input projection in one pool pass, sharing one quantization of x.
    std::vector<float> b(static_cast<size_t>(T * Hv)), a(static_cast<size_t>(T * Hv));
    std::vector<float> ba(c.fused_ba ? static_cast<size_t>(T * 2 * Hv) : 0);
    std::vector<LinearJob> jobs = {{&w.qkv, x, T, qkv.data()}, {&w.gate, x, T, z.data()}};
    if (c.fused_ba) {
      jobs.push_back({&w.ba, x, T, ba.data()});
    } else {
      jobs.push_back({&w.beta, x, T, b.data()});
      jobs.push_back({&w.alpha, x, T, a.data()});
    }
    linear_many(ctx, jobs);
    if (c.fused_ba) {  // per key head group: [b for its r value heads | a for them]
      const int64_t r = Hv / Hk;
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t grp = 0; grp < Hk; ++grp) {
          for (int64_t i = 0; i < r; ++i) {
            b[static_cast<size_t>(t * Hv + grp * r + i)] = ba[static_cast<size_t>(t * 2 * Hv + grp * 2 * r + i)];
            a[static_cast<size_t>(t * Hv + grp * r + i)] = ba[static_cast<size_t>(t * 2 * Hv + grp * 2 * r + r + i)];
          }
        }
      }
    }
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t j = 0; j < Hv; ++j) {
        const size_t i = static_cast<size_t>(t * Hv + j);
        beta[i] = sigmoid(b[i]);
        g[i] = w.a[j] * softplus(a[i] + w.dt_bias[j]);
      }
    }
  }

  // Each sequence's tokens, in order.
  std::map<int, std::vector<int64_t>> seq_tokens;
  for (int64_t t = 0; t < T; ++t) seq_tokens[batch.seq_ids[static_cast<size_t>(t)]].push_back(t);

  // Causal depthwise conv1d over [state | tokens], SiLU; the last K-1 inputs become the state.
  std::vector<float> conv_out(qkv.size());
  for (const auto& [seq, toks] : seq_tokens) {
    float* cs = state.conv(state_layer, seq);
    const auto n = static_cast<int64_t>(toks.size());
    std::vector<float> window(static_cast<size_t>((K - 1 + n) * conv_dim));
    std::memcpy(window.data(), cs, sizeof(float) * static_cast<size_t>((K - 1) * conv_dim));
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(window.data() + (K - 1 + i) * conv_dim, qkv.data() + toks[static_cast<size_t>(i)] * conv_dim,
                  sizeof(float) * static_cast<size_t>(conv_dim));
    }
    ctx.pool->parallel_for(conv_dim, 64, [&](int64_t c0, int64_t c1, int) {
      // Tap m of channels [c0, c1) side by side, so that the sums run across channels (vectorised);
      // each channel's sum is 0 + w_0 x_0 + ... + w_{K-1} x_{K-1} in that order, as one at a time.
      const int64_t width = c1 - c0;
      std::vector<float> taps(static_cast<size_t>(K * width));
      for (int64_t ch = c0; ch < c1; ++ch) {
        for (int64_t m = 0; m < K; ++m) taps[static_cast<size_t>(m * width + ch - c0)] = w.conv[ch * K + m];
      }
      for (int64_t i = 0; i < n; ++i) {
        float* dst = conv_out.data() + toks[static_cast<size_t>(i)] * conv_dim + c0;
        std::fill(dst, dst + width, 0.0f);
        for (int64_t m = 0; m < K; ++m) {
          const float* tap = taps.data() + m * width;
          const float* in = window.data() + (i + m) * conv_dim + c0;
          for (int64_t e = 0; e < width; ++e) dst[e] += tap[e] * in[e];
        }
        silu_in_place(*ctx.kernels, dst, width);
      }
    });
    std::memcpy(cs, window.data() + n * conv_dim, sizeof(float) * static_cast<size_t>((K - 1) * conv_dim));
  }
  ctx.trace("conv_out", layer, conv_out.data(), T, conv_dim);

  // Split into per-head q, k (L2-normalised, q scaled by 1/sqrt(d_k)) and v.
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(dk));
  ctx.pool->parallel_for(T, 4, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      float* row = conv_out.data() + t * conv_dim;
      for (int64_t h = 0; h < Hk; ++h) {
        l2_normalize(*ctx.kernels, row + h * dk, dk, q_scale);
        l2_normalize(*ctx.kernels, row + Hk * dk + h * dk, dk, 1.0f);
      }
    }
  });

  // The delta rule per (sequence, value head), in time order.
  std::vector<float> o(static_cast<size_t>(T * vdim));
  std::vector<std::pair<int, int64_t>> tasks;
  for (const auto& [seq, toks] : seq_tokens) {
    for (int64_t j = 0; j < Hv; ++j) tasks.emplace_back(seq, j);
  }
  ctx.pool->run(static_cast<int64_t>(tasks.size()), [&](int64_t task, int) {
    const auto [seq, j] = tasks[static_cast<size_t>(task)];
    const auto& toks = seq_tokens.at(seq);
    const auto n = static_cast<int64_t>(toks.size());
    const int64_t kh = c.key_head_of(j);
    std::vector<float> q(static_cast<size_t>(n * dk)), k(static_cast<size_t>(n * dk)), v(static_cast<size_t>(n * dv)),
        bt(static_cast<size_t>(n)), gt(static_cast<size_t>(n)), ot(static_cast<size_t>(n * dv));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = toks[static_cast<size_t>(i)];
      const float* row = conv_out.data() + t * conv_dim;
      std::memcpy(&q[static_cast<size_t>(i * dk)], row + kh * dk, sizeof(float) * static_cast<size_t>(dk));
      std::memcpy(&k[static_cast<size_t>(i * dk)], row + Hk * dk + kh * dk, sizeof(float) * static_cast<size_t>(dk));
      std::memcpy(&v[static_cast<size_t>(i * dv)], row + 2 * Hk * dk + j * dv, sizeof(float) * static_cast<size_t>(dv));
      bt[static_cast<size_t>(i)] = beta[static_cast<size_t>(t * Hv + j)];
      gt[static_cast<size_t>(i)] = g[static_cast<size_t>(t * Hv + j)];
    }
    float* S = state.ssm(state_layer, seq) + j * dk * dv;
    if (n == 1 || c.chunk <= 0) {
      delta_rule_recurrent(*ctx.kernels, n, dk, dv, q.data(), k.data(), v.data(), bt.data(), gt.data(), S, ot.data());
    } else {
      delta_rule_chunked(*ctx.kernels, n, dk, dv, c.chunk, q.data(), k.data(), v.data(), bt.data(), gt.data(), S, ot.data());
    }
    // Gated RMSNorm per head: w * o / rms(o) * silu(z).
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = toks[static_cast<size_t>(i)];
      const float* oi = ot.data() + i * dv;
      const float* zi = z.data() + t * vdim + j * dv;
      const double ss = ctx.kernels->sum_squares_f64(oi, dv);
      const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dv) + c.norm_eps));
      float* dst = o.data() + t * vdim + j * dv;
      std::copy(zi, zi + dv, dst);
      silu_in_place(*ctx.kernels, dst, dv);
      for (int64_t e = 0; e < dv; ++e) dst[e] = w.norm[e] * (oi[e] * scale) * dst[e];
    }
  });
  ctx.trace("linear_attn_heads", layer, o.data(), T, vdim);
  linear(ctx, w.out, o.data(), T, out);
}

}  // namespace qwenrt
